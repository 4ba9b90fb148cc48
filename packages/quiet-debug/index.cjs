'use strict';
/*
 * `debug`, for mqtt-packet (the override in pnpm-workspace.yaml), which calls it at every step of every MQTT packet it
 * parses or writes, on both ends of every connection. debug's logger gathers its arguments into an array before it
 * asks whether its namespace is enabled, so that makes garbage on every packet with logging off: about 44 kB per
 * simulated device boot (24 packets), and a few per cent of its CPU with the collections it costs. Here a logger
 * whose namespace DEBUG did not enable when it was made is a function that does nothing and gathers nothing; an
 * enabled one is debug's own. The difference: enabling a namespace from code after its logger was made
 * (debug.enable) no longer reaches that logger. Set DEBUG at start.
 */
const debug = require('debug');

function quiet(namespace) {
  const logger = function quietLogger() {};
  logger.namespace = namespace;
  logger.enabled = false;
  logger.log = logger;
  logger.extend = (sub, delimiter = ':') => create(`${namespace}${delimiter}${sub}`);
  logger.destroy = () => true;
  return logger;
}

function create(namespace) {
  return debug.enabled(namespace) ? debug(namespace) : quiet(namespace);
}

// Everything else (enable, disable, names, formatters, humanize...) is debug's.
Object.setPrototypeOf(create, debug);
create.default = create;
create.debug = create;
module.exports = create;

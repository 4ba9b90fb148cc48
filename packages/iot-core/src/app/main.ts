import {
  createProcessLogger,
  DataDirLockedError,
  explainListenError,
  PortInUseError,
  startUntilSignal,
  type PortSetting,
  runMain,
} from '@otafleet/runtime';
import { join, relative } from 'node:path';
import { ConfigError, DEV_ACCESS_KEY_ID, loadConfig, type LocalCoreConfig } from './config.js';
import { startLocalCore, type LocalCore } from './local-core.js';

/** The ports a user can collide on, with the setting that moves each. */
const portSettings = (config: LocalCoreConfig): PortSetting[] => [
  { port: config.mqttTlsPort, flag: '--mqtt-tls-port', env: 'OTA_CORE_MQTT_TLS_PORT', what: 'MQTT over mutual TLS' },
  { port: config.httpPort, flag: '--http-port', env: 'OTA_CORE_HTTP_PORT', what: 'control-plane HTTP API' },
  ...(config.mqttTcpPort === undefined
    ? []
    : [{ port: config.mqttTcpPort, flag: '--mqtt-tcp-port', env: 'OTA_CORE_MQTT_TCP_PORT', what: 'plain MQTT' }]),
];

/** What a newcomer needs right after start: where to connect, with what, and how to enrol a device. */
function readyFacts(core: LocalCore, config: LocalCoreConfig): Record<string, string | undefined> {
  const shown = (p: string): string => {
    const rel = relative(process.env['INIT_CWD'] ?? process.cwd(), p);
    return rel.startsWith('..') ? p : rel;
  };
  const pkiDir = shown(core.pki.dir);
  const mqtts = core.mqttTlsPort === undefined ? undefined : `mqtts://${config.host}:${core.mqttTlsPort}`;
  const devPair = config.accessKeyId === DEV_ACCESS_KEY_ID;
  return {
    mqttTls: mqtts,
    mqttInsecureTcp: core.mqttTcpPort === undefined ? undefined : `mqtt://${config.host}:${core.mqttTcpPort}`,
    externalBroker: config.brokerUrl,
    http: core.httpEndpoint,
    region: config.region,
    accessKeyId: config.accessKeyId,
    // The development pair is public (it is in the docs); a configured secret is never logged.
    secretAccessKey: devPair ? config.secretAccessKey : '(from OTA_CORE_SECRET_ACCESS_KEY)',
    dataDir: shown(config.dataDir),
    ca: shown(core.pki.caPath),
    enrolDevice: `pnpm ca -- --data-dir ${shown(config.dataDir)} ca issue-device <thingName>  (writes ${join(pkiDir, 'things', '<thingName>.pem')} and .key)`,
    connectDevice:
      mqtts === undefined
        ? undefined
        : `MQTT client id = thing name, certificate + key from enrolDevice, CA ${shown(core.pki.caPath)}, ${mqtts}`,
  };
}

/** `iot-core`: runs the local AWS IoT core until SIGTERM/SIGINT/SIGHUP, then shuts down gracefully. */
async function main(): Promise<number> {
  let config: LocalCoreConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let logger;
  try {
    logger = createProcessLogger({ name: 'iot-core', level: config.logLevel });
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  // The signals are caught before the core starts: a stop while it is still starting closes it once started.
  const { started, stopped } = startUntilSignal(() => startLocalCore(config, logger), { logger });
  let core: LocalCore;
  try {
    core = await started;
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      logger.fatal({ code: e.code, dataDir: config.dataDir }, e.message);
      return 1;
    }
    const explained = explainListenError(e, portSettings(config), config.host);
    if (explained instanceof PortInUseError) {
      logger.fatal({ code: explained.code, port: explained.setting.port }, explained.message);
      return 1;
    }
    throw e;
  }
  logger.info(readyFacts(core, config), 'local IoT core ready');
  return stopped;
}

runMain(main, 'iot-core');

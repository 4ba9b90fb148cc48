import { relative } from 'node:path';
import {
  createProcessLogger,
  explainListenError,
  lockDataDir,
  PortInUseError,
  startUntilSignal,
  DataDirLockedError,
  type DataDirLock,
  runMain,
} from '@otafleet/runtime';
import {
  ConfigError,
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
  type LocalCoreConfig,
} from '@otafleet/iot-core';
import { bundleUrlKeyText, startFleetService, type FleetService } from './fleet-service.js';
import { localStackServiceConfig } from './local-stack-config.js';
import { serviceConfigFrom } from './service-config.js';
import { loadStackConfig, StackConfigError, withFleetDataDir } from './stack-config.js';

const shown = (p: string): string => {
  const rel = relative(process.env['INIT_CWD'] ?? process.cwd(), p);
  return rel.startsWith('..') ? p : rel;
};

/** `pnpm start`: the whole local stack — the local IoT core and the fleet service — until SIGTERM/SIGINT. */
async function main(): Promise<number> {
  // Node 20 is this project's platform until its support ends; the SDK's notice about it is noise in every start.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  let stack: ReturnType<typeof loadStackConfig>;
  let coreConfig: LocalCoreConfig;
  try {
    stack = loadStackConfig(process.argv.slice(2), process.env);
    coreConfig = loadConfig(stack.coreArgs, process.env);
    stack = withFleetDataDir(stack, coreConfig.dataDir);
    // One key for the URLs the core signs into job documents and the bundle store that checks them.
    const bundleUrlKey = coreConfig.bundleUrlKey ?? bundleUrlKeyText(stack.fleet.dataDir);
    coreConfig = { ...coreConfig, bundleUrlKey };
    stack = { ...stack, fleet: { ...stack.fleet, bundleUrlKey } };
  } catch (e) {
    if (e instanceof StackConfigError || e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let logger;
  try {
    logger = createProcessLogger({ name: 'ota-stack', level: coreConfig.logLevel });
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  // The signals are caught before anything starts: a stop while the stack is still starting closes it once started.
  // The core takes (and releases) the lock of its own data directory; the fleet service's is taken once the core
  // holds its own, so a second stack on the same directories is refused by the core's lock first.
  const { started, stopped } = startUntilSignal(
    async () => {
      let core: LocalCore | undefined;
      let fleetLock: DataDirLock | undefined;
      try {
        core = await startLocalCore(coreConfig, logger.child({ part: 'iot-core' }));
        fleetLock = lockDataDir(stack.fleet.dataDir, 'fleet-service', 'start this one with another --fleet-data-dir');
        if (fleetLock.tookOver !== undefined) {
          logger.warn(
            { previous: fleetLock.tookOver },
            'took over the lock of a process that is gone (it did not shut down)',
          );
        }
        const service = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
        // The same configuration an AWS deployment gives the service, filled with the local core's endpoints.
        const resolved = await serviceConfigFrom(
          localStackServiceConfig(stack.fleet, core, coreConfig, service),
          process.cwd(),
          stack.fleet,
          { accessKeyId: coreConfig.accessKeyId, secretAccessKey: coreConfig.secretAccessKey },
        );
        const fleet = await startFleetService(
          resolved.fleet,
          resolved.endpoints,
          logger.child({ part: 'fleet-service' }),
        );
        const lock = fleetLock;
        const coreStarted = core;
        return {
          core: coreStarted,
          fleet,
          close: async () => {
            await fleet.close();
            await coreStarted.close();
            lock.release();
          },
        };
      } catch (e) {
        await core?.close();
        fleetLock?.release();
        throw e;
      }
    },
    { logger },
  );
  let core: LocalCore;
  let fleet: FleetService;
  try {
    ({ core, fleet } = await started);
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      logger.fatal({ code: e.code }, e.message);
      return 1;
    }
    const explained = explainListenError(
      e,
      [
        { port: stack.fleet.apiPort, flag: '--api-port', env: 'OTA_FLEET_API_PORT', what: 'operator API' },
        {
          port: coreConfig.mqttTlsPort,
          flag: '--mqtt-tls-port',
          env: 'OTA_CORE_MQTT_TLS_PORT',
          what: 'MQTT over mutual TLS',
        },
        { port: coreConfig.httpPort, flag: '--http-port', env: 'OTA_CORE_HTTP_PORT', what: 'control-plane HTTP API' },
      ],
      coreConfig.host,
    );
    if (explained instanceof PortInUseError) {
      logger.fatal({ code: explained.code, port: explained.setting.port }, explained.message);
      return 1;
    }
    throw e;
  }
  const devPair = coreConfig.accessKeyId === DEV_ACCESS_KEY_ID;
  logger.info(
    {
      api: fleet.apiEndpoint,
      docs: `${fleet.apiEndpoint}/docs`,
      operatorToken: fleet.createdToken ?? `(created on first start; in ${shown(fleet.tokenFile)})`,
      tokenFile: shown(fleet.tokenFile),
      trust:
        stack.fleet.trustPath === undefined
          ? 'none: pass --trust FILE to accept bundle uploads'
          : shown(stack.fleet.trustPath),
      http: core.httpEndpoint,
      mqttTls: `mqtts://${coreConfig.host}:${core.mqttTlsPort ?? 0}`,
      ca: shown(core.pki.caPath),
      accessKeyId: coreConfig.accessKeyId,
      secretAccessKey: devPair ? DEV_SECRET_ACCESS_KEY : '(from OTA_CORE_SECRET_ACCESS_KEY)',
      // The device sends a CSR (its key never leaves it); or `--generate --out DIR` has a key pair made for it.
      enrolDevice: `pnpm fleet -- --api ${fleet.apiEndpoint} --token-file ${shown(fleet.tokenFile)} devices enrol <thingName> --csr <device.csr>`,
    },
    'local stack ready',
  );
  return stopped;
}

runMain(main, 'the local stack');

import {
  createProcessLogger,
  explainListenError,
  lockDataDir,
  PortInUseError,
  startUntilSignal,
  DataDirLockedError,
  runMain,
} from '@otafleet/runtime';
import { bundleUrlKeyText, startFleetService } from './fleet-service.js';
import { loadServiceConfig, ServiceConfigError } from './service-config.js';
import { StackConfigError } from './stack-config.js';

/** The fleet service on its own, in the configuration a file gives (AWS, or a local core run elsewhere). */
async function main(): Promise<number> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  let loaded;
  try {
    loaded = await loadServiceConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ServiceConfigError || e instanceof StackConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const endpoints = loaded.endpoints;
  const config = { ...loaded.fleet, bundleUrlKey: bundleUrlKeyText(loaded.fleet.dataDir) };
  const logger = createProcessLogger({ name: 'fleet-service', level: process.env['LOG_LEVEL'] ?? 'info' });
  let lock;
  try {
    lock = lockDataDir(config.dataDir, 'fleet-service', 'give this one another dataDir in its configuration');
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      logger.fatal({ code: e.code }, e.message);
      return 1;
    }
    throw e;
  }
  // The signals are caught before the service starts: a stop while it is still starting closes it once started.
  const { started, stopped } = startUntilSignal(
    async () => {
      const service = await startFleetService(config, endpoints, logger);
      return {
        service,
        close: async () => {
          await service.close();
          lock.release();
        },
      };
    },
    { logger },
  );
  let service;
  try {
    ({ service } = await started);
  } catch (e) {
    lock.release();
    const explained = explainListenError(
      e,
      [{ port: config.apiPort, flag: 'api.port', env: 'OTA_FLEET_API_PORT', what: 'operator API' }],
      config.host,
    );
    if (explained instanceof PortInUseError) {
      logger.fatal({ code: explained.code, port: explained.setting.port }, explained.message);
      return 1;
    }
    throw e;
  }
  logger.info(
    {
      api: service.apiEndpoint,
      tokenFile: service.tokenFile,
      ...(service.createdToken === undefined ? {} : { operatorToken: service.createdToken }),
      iot: endpoints.controlPlane.endpoint ?? `AWS IoT in ${endpoints.controlPlane.region}`,
      mqtt: endpoints.mqtt.url,
      bundles: config.s3Bundles === undefined ? 'on disk' : `s3://${config.s3Bundles.bucket}`,
    },
    'fleet service ready',
  );
  return stopped;
}

runMain(main, 'the fleet service');

import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startLocalCore } from './local-core.js';

/** `iot-core`: runs the local AWS IoT core until SIGTERM/SIGINT, then shuts down gracefully. */
async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel, name: 'iot-core' });
  const core = await startLocalCore(config, logger);
  logger.info(
    {
      mqttTls: core.mqttTlsPort === undefined ? undefined : `mqtts://${config.host}:${core.mqttTlsPort}`,
      mqttInsecureTcp: core.mqttTcpPort === undefined ? undefined : `mqtt://${config.host}:${core.mqttTcpPort}`,
      externalBroker: config.brokerUrl,
      http: core.httpEndpoint,
      region: config.region,
      dataDir: config.dataDir,
      ca: core.pki.caPath,
    },
    'local IoT core ready',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await core.close();
  logger.info('stopped');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`iot-core failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

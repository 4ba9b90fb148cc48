import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded-broker.js';
import { connectMqtt, mqttJsTransport, type MessageBus } from '@otafleet/mqtt-client';
import { createAedesBus } from '../bus/aedes-bus.js';
import { buildControlPlane, type ControlPlaneApp } from '../control-plane/index.js';
import { openDatabase, type Db } from '../db.js';
import { createJobsService, type JobsService } from '../jobs/index.js';
import { createThingRegistry, type ThingRegistry } from '../registry/index.js';
import { createShadowService, type ShadowService } from '../shadow/index.js';
import { ensurePki, type CorePki } from './pki.js';
import { DEV_ACCESS_KEY_ID, type LocalCoreConfig } from './config.js';

export interface LocalCore {
  readonly config: LocalCoreConfig;
  readonly pki: CorePki;
  readonly db: Db;
  readonly registry: ThingRegistry;
  readonly shadows: ShadowService;
  readonly jobs: JobsService;
  /** Present when the embedded broker runs (no brokerUrl). */
  readonly broker: EmbeddedBroker | undefined;
  readonly mqttTlsPort: number | undefined;
  readonly mqttTcpPort: number | undefined;
  readonly httpPort: number;
  readonly httpEndpoint: string;
  /** Stops taking work (HTTP, MQTT), lets the services finish and commit what is in flight, closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the whole local AWS IoT core: broker (embedded aedes with mTLS, or an external broker as a
 * privileged client), Shadow and Jobs services on SQLite, and the SigV4 control-plane HTTP API.
 */
export async function startLocalCore(config: LocalCoreConfig, logger: Logger): Promise<LocalCore> {
  const pki = await ensurePki(join(config.dataDir, 'pki'), logger);
  const db = openDatabase(join(config.dataDir, 'iot-core.sqlite'));
  const arn = { region: config.region, accountId: config.accountId };

  let broker: EmbeddedBroker | undefined;
  let bus: MessageBus;
  if (config.brokerUrl === undefined) {
    const [ca, cert, key] = await Promise.all([
      readFile(pki.caPath, 'utf8'),
      readFile(pki.server.certPath, 'utf8'),
      readFile(pki.server.keyPath, 'utf8'),
    ]);
    broker = await startEmbeddedBroker({
      host: config.host,
      tls: { port: config.mqttTlsPort, ca, cert, key },
      insecureTcp: config.mqttTcpPort !== undefined,
      ...(config.mqttTcpPort === undefined ? {} : { port: config.mqttTcpPort }),
      logger: logger.child({ component: 'broker' }),
    });
    bus = createAedesBus(broker.aedes, logger.child({ component: 'bus' }), broker.subscriptions);
  } else {
    const tls = config.brokerUrl.startsWith('mqtts://')
      ? {
          ca: await readFile(pki.caPath, 'utf8'),
          cert: await readFile(pki.service.certPath, 'utf8'),
          key: await readFile(pki.service.keyPath, 'utf8'),
        }
      : undefined;
    // A privileged client: MQTT 5 where the broker speaks it, 3.1.1 otherwise; waits for the first connection.
    bus = await connectMqtt({
      transport: mqttJsTransport({ url: config.brokerUrl, ...(tls === undefined ? {} : { tls }) }),
      clientId: pki.serviceCommonName,
      logger: logger.child({ component: 'bus' }),
    });
  }

  const registry = createThingRegistry(db, arn, { logger: logger.child({ component: 'registry' }) });
  const shadows = await createShadowService({ db, bus, logger });
  const jobs = await createJobsService({ db, bus, registry, arn, logger });
  if (config.accessKeyId === DEV_ACCESS_KEY_ID) {
    logger.warn(
      { accessKeyId: DEV_ACCESS_KEY_ID },
      'control plane accepts the built-in DEVELOPMENT access key; set OTA_CORE_ACCESS_KEY_ID and OTA_CORE_SECRET_ACCESS_KEY for anything shared',
    );
  }
  const http: ControlPlaneApp = buildControlPlane({
    registry,
    shadows,
    jobs,
    credentials: [{ accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }],
    region: config.region,
    logger: logger.child({ component: 'control-plane' }),
  });
  await http.listen({ host: config.host, port: config.httpPort });
  const address = http.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await http.close(); // no new HTTP requests; in-flight ones finish
      await broker?.close(); // no new MQTT messages
      await jobs.close(); // pending group commits reach disk
      await shadows.close();
      await bus.close();
      db.close();
    })());

  return {
    config,
    pki,
    db,
    registry,
    shadows,
    jobs,
    broker,
    mqttTlsPort: broker?.tlsPort,
    mqttTcpPort: broker?.tcpPort,
    httpPort,
    httpEndpoint: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`,
    close,
  };
}

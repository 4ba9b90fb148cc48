import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded-broker.js';
import { connectMqtt, mqttJsTransport, type MessageBus } from '@otafleet/mqtt-client';
import { lockDataDir, type DataDirLock } from '@otafleet/runtime';
import { createAedesBus } from '../bus/aedes-bus.js';
import { buildControlPlane, type ControlPlaneApp } from '../control-plane/index.js';
import { openDatabase, type Db } from '../db.js';
import { discoverCertificates } from '../identity/certificate-discovery.js';
import { createCertificateGate } from '../identity/certificate-gate.js';
import { createCertificateRegistry, type CertificateRegistry } from '../identity/certificate-registry.js';
import { openCaDirectory } from '../identity/ca-store.js';
import { publishCrl } from '../identity/crl.js';
import { createCsrCertificateIssuer } from '../identity/csr-certificates.js';
import { createThingPrincipals } from '../registry/thing-principals.js';
import { createJobsService, type JobsService } from '../jobs/index.js';
import { createThingRegistry, type ThingRegistry } from '../registry/index.js';
import { classicShadowThings, connectRegistryToServices } from '../registry/registry-wiring.js';
import { createShadowService, type ShadowService } from '../shadow/index.js';
import { startDynamicSecuritySync, type DynamicSecuritySync } from '../mosquitto/dynamic-security-sync.js';
import { ensurePki, type CorePki } from './pki.js';
import { DEV_ACCESS_KEY_ID, type LocalCoreConfig } from './config.js';

export interface LocalCore {
  readonly config: LocalCoreConfig;
  readonly pki: CorePki;
  readonly db: Db;
  readonly registry: ThingRegistry;
  readonly shadows: ShadowService;
  readonly jobs: JobsService;
  readonly certificates: CertificateRegistry;
  /** `<data-dir>/pki/crl.pem`, rewritten after every status change; settled once the last write is done. */
  readonly revocationList: { settled(): Promise<void> };
  /** With an external broker: keeps Mosquitto's dynamic-security plugin in step with the certificates. */
  readonly dynamicSecurity: DynamicSecuritySync | undefined;
  /** Present when the embedded broker runs (no brokerUrl). */
  readonly broker: EmbeddedBroker | undefined;
  readonly mqttTlsPort: number | undefined;
  readonly mqttTcpPort: number | undefined;
  readonly httpPort: number;
  readonly httpEndpoint: string;
  /** Stops taking work (HTTP, MQTT), lets the services finish and commit what is in flight, closes the database. */
  close(): Promise<void>;
}

/** Stops, in reverse order, what a start got going; a start that fails part-way runs it before rethrowing. */
class StartedParts {
  private readonly stops: (() => void | Promise<void>)[] = [];
  add(stop: () => void | Promise<void>): void {
    this.stops.push(stop);
  }
  async stopAll(logger: Logger): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (e) {
        logger.warn({ err: e }, 'a part of a failed start did not stop cleanly');
      }
    }
  }
}

/**
 * Starts the whole local AWS IoT core: broker (embedded aedes with mTLS, or an external broker as a
 * privileged client), Shadow and Jobs services on SQLite, and the SigV4 control-plane HTTP API. Holds the
 * data directory's lock (DataDirLockedError when another process has it) until close(). When a part fails
 * to start (a port in use…), what already started is stopped and the lock released before the error is thrown.
 */
export async function startLocalCore(config: LocalCoreConfig, logger: Logger): Promise<LocalCore> {
  const lock = lockDataDir(config.dataDir, 'iot-core', 'start this one with another --data-dir (or OTA_CORE_DATA_DIR)');
  if (lock.tookOver !== undefined)
    logger.warn({ previous: lock.tookOver }, 'took over the lock of a process that is gone (it did not shut down)');
  const parts = new StartedParts();
  parts.add(() => lock.release());
  try {
    return await startParts(config, logger, parts, lock);
  } catch (e) {
    await parts.stopAll(logger);
    throw e;
  }
}

async function startParts(
  config: LocalCoreConfig,
  logger: Logger,
  parts: StartedParts,
  lock: DataDirLock,
): Promise<LocalCore> {
  const pki = await ensurePki(join(config.dataDir, 'pki'), logger);
  const db = openDatabase(join(config.dataDir, 'iot-core.sqlite'));
  parts.add(() => {
    db.close();
  });
  const arn = { region: config.region, accountId: config.accountId };
  const certificates = createCertificateRegistry(db, arn, { logger: logger.child({ component: 'certificates' }) });
  parts.add(() => certificates.close()); // its change poll reads the database: stopped before the database closes
  const discovery = await discoverCertificates(pki.dir, certificates, logger.child({ component: 'certificates' }));
  parts.add(() => discovery.close());
  const revocationList = publishCrl(pki.dir, certificates, logger.child({ component: 'certificates' }));
  parts.add(async () => {
    revocationList.close();
    await revocationList.settled();
  });

  let broker: EmbeddedBroker | undefined;
  let bus: MessageBus;
  let dynamicSecurity: DynamicSecuritySync | undefined;
  if (config.brokerUrl === undefined) {
    const [ca, cert, key] = await Promise.all([
      readFile(pki.caPath, 'utf8'),
      readFile(pki.server.certPath, 'utf8'),
      readFile(pki.server.keyPath, 'utf8'),
    ]);
    const started = await startEmbeddedBroker({
      host: config.host,
      tls: { port: config.mqttTlsPort, ca, cert, key },
      insecureTcp: config.mqttTcpPort !== undefined,
      ...(config.mqttTcpPort === undefined ? {} : { port: config.mqttTcpPort }),
      logger: logger.child({ component: 'broker' }),
      certificateGate: createCertificateGate(certificates, logger.child({ component: 'broker' })),
    });
    broker = started;
    parts.add(() => started.close());
    bus = createAedesBus(started.aedes, logger.child({ component: 'bus' }), started.subscriptions);
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
      // noLocal: the core's own answers and notifications match its request filters (`$aws/things/+/jobs/#`).
      transport: mqttJsTransport({ url: config.brokerUrl, noLocal: true, ...(tls === undefined ? {} : { tls }) }),
      clientId: pki.serviceCommonName,
      logger: logger.child({ component: 'bus' }),
    });
    dynamicSecurity = await startDynamicSecuritySync(bus, certificates, logger.child({ component: 'mosquitto' }));
    const sync = dynamicSecurity;
    parts.add(() => sync.close());
  }
  const openBus = bus;
  parts.add(() => openBus.close());

  const registry = createThingRegistry(db, arn, { logger: logger.child({ component: 'registry' }) });
  parts.add(() => registry.close());
  const shadows = await createShadowService({
    db,
    bus,
    logger,
    onShadowsChanged: (keys) => registry.indexedDataChanged(classicShadowThings(keys), ['shadow']),
  });
  parts.add(() => shadows.close());
  const jobs = await createJobsService({
    db,
    bus,
    registry,
    arn,
    logger,
    ...(config.bundleUrlKey !== undefined ? { presignedUrlKey: Buffer.from(config.bundleUrlKey, 'utf8') } : {}),
    ...(config.s3Presign !== undefined ? { s3Presign: config.s3Presign } : {}),
  });
  parts.add(() => jobs.close());
  const registryWiring = connectRegistryToServices(registry, shadows, broker);
  parts.add(() => registryWiring.close());
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
    certificates,
    principals: {
      issuer: createCsrCertificateIssuer(await openCaDirectory(pki.dir), certificates, arn),
      principals: createThingPrincipals(db, { registry, certificates, scope: arn }),
    },
    credentials: [{ accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }],
    region: config.region,
    logger: logger.child({ component: 'control-plane' }),
  });
  parts.add(() => http.close());
  await http.listen({ host: config.host, port: config.httpPort });
  const address = http.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await http.close(); // no new HTTP requests; in-flight ones finish
        await broker?.close(); // no new MQTT messages
        await jobs.close(); // pending group commits reach disk
        await shadows.close();
        registryWiring.close();
        await registry.close();
        dynamicSecurity?.close();
        await bus.close();
        discovery.close();
        revocationList.close();
        await revocationList.settled();
        certificates.close();
        db.close();
      } finally {
        lock.release();
      }
    })());

  return {
    config,
    pki,
    db,
    registry,
    shadows,
    jobs,
    certificates,
    revocationList,
    dynamicSecurity,
    broker,
    mqttTlsPort: broker?.tlsPort,
    mqttTcpPort: broker?.tcpPort,
    httpPort,
    httpEndpoint: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`,
    close,
  };
}

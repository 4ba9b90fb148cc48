import { IoTClient } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../broker/embedded-broker.js';
import { createAedesBus } from '../bus/aedes-bus.js';
import { buildControlPlane, type ControlPlaneApp } from '../control-plane/index.js';
import { openDatabase, type Db } from '../db.js';
import { createJobsService } from '../jobs/index.js';
import type { ArnContext } from '../registry-types.js';
import { createShadowService } from '../shadow/index.js';
import { createThingRegistry, type ThingRegistry } from '../registry/index.js';
import { silentLogger } from './silent-logger.js';
import type { JobsControlPlane, ShadowControlPlane } from '../service-contracts.js';

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';
export const CREDENTIALS = {
  accessKeyId: 'AKIDLOCALTEST000001',
  secretAccessKey: 'local-secret-for-tests-only',
} as const;

export interface ControlPlaneFixture {
  readonly endpoint: string;
  readonly app: ControlPlaneApp;
  readonly db: Db;
  readonly registry: ThingRegistry;
  readonly iot: IoTClient;
  readonly data: IoTDataPlaneClient;
  readonly arn: ArnContext;
  readonly brokerPort: number | undefined;
  iotClient(
    credentials: { accessKeyId: string; secretAccessKey: string },
    extra?: { systemClockOffset?: number; maxAttempts?: number },
  ): IoTClient;
  close(): Promise<void>;
}

export interface FixtureServices {
  readonly shadows: ShadowControlPlane;
  readonly jobs: JobsControlPlane;
  /** Plain-TCP port of the MQTT broker the services publish on, when there is one. */
  readonly brokerPort?: number;
  readonly close?: () => Promise<void>;
}

/** The real Shadow and Jobs services over an embedded aedes broker and the fixture's SQLite file. */
export async function realServices(registry: ThingRegistry, db: Db, arn: ArnContext): Promise<FixtureServices> {
  const logger = silentLogger;
  const broker = await startEmbeddedBroker({ logger });
  const bus = createAedesBus(broker.aedes, logger);
  const shadows = await createShadowService({ db, bus, logger });
  const jobs = await createJobsService({ db, bus, registry, arn, logger });
  return {
    shadows,
    jobs,
    brokerPort: broker.port,
    async close() {
      await jobs.close();
      await shadows.close();
      await bus.close();
      await broker.close();
    },
  };
}

/**
 * A control plane on a real socket (127.0.0.1, port 0) over a real SQLite file in a temp dir, with SDK
 * clients pointed at it. `services` builds the Shadow/Jobs implementations; the default is the real ones.
 */
export async function startControlPlane(
  services: (registry: ThingRegistry, db: Db, arn: ArnContext) => Promise<FixtureServices> = realServices,
): Promise<ControlPlaneFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cp-test-'));
  const db = openDatabase(join(dir, 'core.db'));
  const arn: ArnContext = { region: REGION, accountId: ACCOUNT_ID };
  const registry = createThingRegistry(db, arn);
  const svc = await services(registry, db, arn);
  const app = buildControlPlane({
    registry,
    shadows: svc.shadows,
    jobs: svc.jobs,
    credentials: [CREDENTIALS],
    region: REGION,
    logger: silentLogger,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const iotClient: ControlPlaneFixture['iotClient'] = (credentials, extra = {}) =>
    new IoTClient({ endpoint, region: REGION, credentials, maxAttempts: 1, ...extra });
  const iot = iotClient(CREDENTIALS);
  const data = new IoTDataPlaneClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  return {
    endpoint,
    app,
    db,
    registry,
    iot,
    data,
    arn,
    brokerPort: svc.brokerPort,
    iotClient,
    async close() {
      iot.destroy();
      data.destroy();
      await app.close();
      await svc.close?.();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The AWS SDK exception a call failed with: name, message and HTTP status. Fails if the call succeeds. */
export const failure = async (
  p: Promise<unknown>,
): Promise<{ name: string; message: string; status: number | undefined }> => {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
};

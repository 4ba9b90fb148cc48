/** The operator API with its device and group routes over real SQLite stores, against a real local core. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IoTClient } from '@aws-sdk/client-iot';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { startTestCore, type TestCore } from '@otafleet/iot-core/testing';
import {
  buildApi,
  createEnrolment,
  createGroups,
  createRolloutEngine,
  openBundleStore,
  openDeviceIndex,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  openTokenStore,
  type BundleStore,
  type DeviceIndex,
  type HealthStore,
  type RolloutEngine,
  type RolloutStore,
} from '@otafleet/fleet-service';
import { testSigner, trustOf } from './fleet-bundles.js';

export interface DeviceApi {
  readonly core: TestCore;
  readonly iot: IoTClient;
  readonly app: FastifyInstance;
  readonly base: string;
  readonly rollouts: RolloutStore;
  readonly health: HealthStore;
  readonly bundles: BundleStore;
  readonly index: DeviceIndex;
  readonly engine: RolloutEngine;
  readonly adminToken: string;
  readonly viewerToken: string;
  readonly signer: ReturnType<typeof testSigner>;
  call(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export const ONLINE_WINDOW_MS = 60_000;

export async function startDeviceApi(): Promise<DeviceApi> {
  const silent = pino({ level: 'silent' });
  const core = await startTestCore();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-devices-'));
  const iot = core.iotClient({ maxAttempts: 3 });
  const tokens = openTokenStore(join(dir, 'tokens.db'));
  const adminToken = tokens.create('alice', 'admin', 1);
  const viewerToken = tokens.create('victor', 'viewer', 1);
  const rollouts = openSqliteRolloutStore(join(dir, 'fleet.db'));
  const health = openSqliteHealthStore(join(dir, 'health.db'));
  const index = openDeviceIndex(join(dir, 'devices.db'), { healthPath: join(dir, 'health.db') });
  const signer = testSigner('release-devices');
  const bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: trustOf(signer) });
  const engine = createRolloutEngine({
    iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: () => 'https://bundles.invalid/x.otab',
    now: Date.now,
    logger: silent,
  });
  const app = await buildApi({
    engine,
    rollouts,
    health,
    bundles,
    tokens,
    urlKey: Buffer.from('u'.repeat(32)),
    now: Date.now,
    logger: silent,
    maxBundleBytes: 1_000_000,
    ready: () => ({ ready: true, reasons: [] }),
    devices: {
      iot,
      index,
      enrolment: createEnrolment({ iot, index, now: Date.now, logger: silent }),
      groups: createGroups(iot),
      onlineWindowMs: ONLINE_WINDOW_MS,
    },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const call: DeviceApi['call'] = (path, init = {}) => {
    const { token, json, ...rest } = init;
    return fetch(`${base}${path}`, {
      ...rest,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
    });
  };
  return {
    core,
    iot,
    app,
    base,
    rollouts,
    health,
    bundles,
    index,
    engine,
    adminToken,
    viewerToken,
    signer,
    call,
    close: async () => {
      await app.close();
      index.close();
      await health.close();
      await rollouts.close();
      await bundles.close();
      tokens.close();
      await core.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

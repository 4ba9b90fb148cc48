/** The operator API on a free loopback port over real SQLite stores, with an admin and a viewer token. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { BundleSigner } from '@otafleet/bundle';
import {
  buildApi,
  createRolloutEngine,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  openTokenStore,
  type ApiDeps,
  type BundleStore,
  type HealthStore,
  type RolloutStore,
} from '@otafleet/fleet-service';
import { trustOf } from './fleet-bundles.js';

export interface TestApi {
  readonly app: FastifyInstance;
  readonly base: string;
  readonly dir: string;
  readonly rollouts: RolloutStore;
  readonly health: HealthStore;
  readonly bundles: BundleStore;
  readonly adminToken: string;
  readonly viewerToken: string;
}

export async function startTestApi(options: {
  readonly signer: BundleSigner;
  readonly urlKey: Uint8Array;
  /** Extra API options (rate limit, metrics, backups); the data directory is passed to build them in. */
  readonly extra?: (dir: string) => Partial<ApiDeps>;
}): Promise<TestApi> {
  const silent = pino({ level: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-api-'));
  const tokens = openTokenStore(join(dir, 'tokens.sqlite'));
  const adminToken = tokens.create('alice', 'admin', 1);
  const viewerToken = tokens.create('victor', 'viewer', 1);
  const rollouts = openSqliteRolloutStore(join(dir, 'rollouts.sqlite'));
  const health = openSqliteHealthStore(join(dir, 'health.sqlite'));
  const bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: trustOf(options.signer) });
  // Nothing here reaches AWS IoT: rollouts are created in the store directly; the client points nowhere.
  const iot = new IoTClient({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const engine = createRolloutEngine({
    iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: () => '',
    now: Date.now,
    logger: silent,
  });
  const app = await buildApi({
    engine,
    rollouts,
    health,
    bundles,
    tokens,
    urlKey: options.urlKey,
    now: Date.now,
    logger: silent,
    maxBundleBytes: 1_000_000,
    ready: () => ({ ready: true, reasons: [] }),
    ...options.extra?.(dir),
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, dir, rollouts, health, bundles, adminToken, viewerToken };
}

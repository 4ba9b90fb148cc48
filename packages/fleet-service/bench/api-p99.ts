/**
 * Operator API latency under load: autocannon against GET /v1/rollouts/:id (token check, TypeBox schema, the
 * rollout and its waves from SQLite) and, as the baseline, a bare fastify route answering the same bytes. Both
 * servers run in one child process (so the load generator does not share their event loop); runs alternate
 * bare, fleet, bare, fleet, ... and each side's figure is the median of its rounds' p99.
 *
 *   pnpm --filter @otafleet/fleet-service bench      (or: npx tsx packages/fleet-service/bench/api-p99.ts)
 *   env: BENCH_CONNECTIONS (10) BENCH_SECONDS (3) BENCH_ROUNDS (5)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IoTClient } from '@aws-sdk/client-iot';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { pino } from 'pino';
import { createTrustStore } from '@otafleet/bundle';
import {
  buildApi,
  createRolloutEngine,
  DEFAULT_GATE,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  openTokenStore,
  planWaves,
} from '../src/index.js';
import { envNumber, loadAverage, median, ratio, report } from './lib.js';

const ROLLOUT = 'bench-rollout';

/** The child: both servers on free ports; prints `{"bare": port, "fleet": port, "token": ...}`. */
async function serve(): Promise<void> {
  const silent = pino({ level: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-api-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const tokens = openTokenStore(join(dir, 'tokens.db'));
  const token = tokens.create('viewer', 'viewer', Date.now());
  const rollouts = openSqliteRolloutStore(join(dir, 'rollouts.db'));
  const health = openSqliteHealthStore(join(dir, 'health.db'));
  const bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: createTrustStore({ keys: [] }) });
  const things = Array.from({ length: 1000 }, (_, i) => `pi-${i}`);
  const waves = [{ count: 10 }, { percent: 50 }, { percent: 100 }];
  const created = await rollouts.createRollout(
    ROLLOUT,
    {
      name: '1.1.0 to the fleet',
      bundle: { bundleId: 'a'.repeat(64), version: '1.1.0' },
      target: { kind: 'group', groupName: 'fleet' },
      waves,
      seed: ROLLOUT,
      gate: DEFAULT_GATE,
      onBreach: 'rollback',
      soakSeconds: 600,
      waveTimeoutSeconds: 3600,
    },
    planWaves(things, waves, ROLLOUT),
    { at: Date.now(), actor: 'bench' },
  );
  if (!created.ok) throw new Error(created.error.message);
  // Reads only: the engine's AWS IoT client is never called.
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
  const fleet = await buildApi({
    engine,
    rollouts,
    health,
    bundles,
    tokens,
    urlKey: Buffer.alloc(32),
    now: Date.now,
    logger: silent,
    maxBundleBytes: 1_000_000,
    ready: () => ({ ready: true, reasons: [] }),
  });
  const fleetUrl = await fleet.listen({ host: '127.0.0.1', port: 0 });
  const sample = await fetch(`${fleetUrl}/v1/rollouts/${ROLLOUT}`, { headers: { authorization: `Bearer ${token}` } });
  if (sample.status !== 200) throw new Error(`the fleet route answered ${sample.status}`);
  const body = Buffer.from(await sample.arrayBuffer());
  const bare = Fastify({ logger: false });
  bare.get('/v1/rollouts/:id', (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ bare: bareUrl, fleet: fleetUrl, token, bytes: body.length })}\n`);
}

async function measure(url: string, token: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/rollouts/${ROLLOUT}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  });
}

const { values } = parseArgs({ options: { serve: { type: 'boolean' } } });
if (values.serve === true) {
  await serve();
} else {
  const connections = envNumber('BENCH_CONNECTIONS', 10);
  const seconds = envNumber('BENCH_SECONDS', 3);
  const rounds = envNumber('BENCH_ROUNDS', 5);
  const load = loadAverage();
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', fileURLToPath(import.meta.url), '--serve'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  try {
    const servers = await new Promise<{ bare: string; fleet: string; token: string; bytes: number }>(
      (resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as never));
        child.once('exit', (code) => reject(new Error(`the server child exited (${String(code)})`)));
      },
    );
    await measure(servers.bare, servers.token, connections, 1); // warm-up, unreported
    await measure(servers.fleet, servers.token, connections, 1);
    const bare: autocannon.Result[] = [];
    const fleet: autocannon.Result[] = [];
    for (let r = 0; r < rounds; r++) {
      bare.push(await measure(servers.bare, servers.token, connections, seconds));
      fleet.push(await measure(servers.fleet, servers.token, connections, seconds));
    }
    const errors = [...bare, ...fleet].reduce((n, x) => n + x.errors + x.non2xx, 0);
    if (errors > 0) throw new Error(`${errors} requests failed or answered non-2xx`);
    const p99 = (xs: autocannon.Result[]): number => median(xs.map((x) => x.latency.p99));
    const rps = (xs: autocannon.Result[]): number => Math.round(median(xs.map((x) => x.requests.average)));
    report({
      bench: 'fleet-api-p99',
      route: 'GET /v1/rollouts/:id (1,000 devices, 3 waves)',
      responseBytes: servers.bytes,
      fleetP99Ms: p99(fleet),
      bareP99Ms: p99(bare),
      p99Ratio: ratio(p99(fleet), p99(bare)),
      target: 'p99Ratio <= 3',
      fleetRequestsPerSec: rps(fleet),
      bareRequestsPerSec: rps(bare),
      fleetP50Ms: median(fleet.map((x) => x.latency.p50)),
      bareP50Ms: median(bare.map((x) => x.latency.p50)),
      connections,
      secondsPerRun: seconds,
      rounds,
      ...load,
    });
  } finally {
    child.kill('SIGTERM');
  }
}

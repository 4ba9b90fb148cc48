/**
 * Filtered device listing at 50,000 devices through the real operator API (real HTTP, real SQLite: the device
 * index joined with the health store), against a bare fastify route returning the same bytes, in the same run.
 * One JSON line per query. Knobs: BENCH_DEVICES (50000), BENCH_CONCURRENCY (8), BENCH_PHASE_MS (3000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import Fastify from 'fastify';
import { pino } from 'pino';
import { healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';
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
  type EnrolledDevice,
} from '../src/index.js';
import { createTrustStore } from '@otafleet/bundle';

const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 50_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const PHASE_MS = Number(process.env['BENCH_PHASE_MS'] ?? 3000);
const silent = pino({ level: 'silent' });

const QUERIES = {
  // A selective filter on the registry attribute and two health columns, newest first.
  filtered: 'attribute=hardwareType=rpi4&version=1.1.0&health=healthy&sort=lastSeen&order=desc&limit=100',
  // The first page of everything, by name (the index's primary key).
  firstPage: 'limit=100',
  // A page deep into a walk (keyset continuation), by name.
  deepPage: 'attribute=hardwareType=imx8&limit=100',
} as const;

async function load(
  url: string,
  headers: Record<string, string>,
): Promise<{ perSec: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(url, { agent, headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - t0)
            : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 20; i++) await once(); // warm-up
  const latencies: number[] = [];
  const end = performance.now() + PHASE_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) latencies.push(await once());
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSec: (latencies.length * 1000) / PHASE_MS, p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-devices-'));
  const healthPath = join(dir, 'health.sqlite');
  const health = openSqliteHealthStore(healthPath);
  const index = openDeviceIndex(join(dir, 'devices.sqlite'), { healthPath });
  const now = Date.now();
  const names = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(6, '0')}`);
  const records: EnrolledDevice[] = names.map((thingName, i) => ({
    thingName,
    thingTypeName: undefined,
    attributes: { hardwareType: i % 2 === 0 ? 'rpi4' : 'imx8', site: `site-${i % 20}` },
    groups: [`site-${i % 20}`],
    certificateId: undefined,
    certificateArn: undefined,
    csrSha256: undefined,
    enrolledAt: now,
    enrolledBy: 'bench',
  }));
  index.putMany(records);
  for (let from = 0; from < DEVICES; from += 1000) {
    const batch = names.slice(from, from + 1000).map((thingName, j) => {
      const i = from + j;
      const report: HealthReportV2 = {
        schemaVersion: 2,
        thingName,
        bootId: randomUUID(),
        bootCount: 1,
        sequence: 0,
        timestamp: now,
        agentVersion: '0.1.0',
        firmwareVersion: i % 10 < 3 ? '1.1.0' : '1.0.0',
        hardwareType: 'rpi4',
        activeSlot: i % 2 === 0 ? 'A' : 'B',
        status: i % 17 === 0 ? 'degraded' : 'healthy',
        uptimeSeconds: 3600,
        counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 100 },
        rollbackCount: 0,
        checks: [],
      };
      return { topic: healthReportTopic(thingName), payload: Buffer.from(JSON.stringify(report)), receivedAt: now - i };
    });
    await health.ingest(batch);
  }

  const tokens = openTokenStore(join(dir, 'tokens.sqlite'));
  const token = tokens.create('bench', 'viewer', now);
  const rollouts = openSqliteRolloutStore(join(dir, 'rollouts.sqlite'));
  const bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: createTrustStore({ keys: [] }) });
  // Listing without a group filter makes no AWS call; the client points nowhere.
  const iot = new IoTClient({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const app = await buildApi({
    engine: createRolloutEngine({
      iot,
      store: rollouts,
      health,
      bundles,
      bundleUrl: () => '',
      now: Date.now,
      logger: silent,
    }),
    rollouts,
    health,
    bundles,
    tokens,
    urlKey: Buffer.alloc(32),
    now: Date.now,
    logger: silent,
    maxBundleBytes: 1,
    ready: () => ({ ready: true, reasons: [] }),
    devices: {
      iot,
      index,
      enrolment: createEnrolment({ iot, index, now: Date.now, logger: silent }),
      groups: createGroups(iot),
      onlineWindowMs: 300_000,
    },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const headers = { authorization: `Bearer ${token}` };

  for (const [name, query] of Object.entries(QUERIES)) {
    let url = `${base}/v1/devices?${query}`;
    if (name === 'deepPage') {
      // Walk halfway through the imx8 half of the fleet, then measure the next page.
      for (let i = 0; i < Math.floor(DEVICES / 400); i++) {
        const page = (await (await fetch(url, { headers })).json()) as { nextToken?: string };
        if (page.nextToken === undefined) break;
        url = `${base}/v1/devices?${query}&nextToken=${page.nextToken}`;
      }
    }
    const body = Buffer.from(await (await fetch(url, { headers })).arrayBuffer());
    const bare = Fastify();
    bare.get('/same-bytes', (_req, reply) => reply.type('application/json').send(body));
    const bareBase = await bare.listen({ host: '127.0.0.1', port: 0 });
    const baseline = await load(`${bareBase}/same-bytes`, {});
    const measured = await load(url, headers);
    await bare.close();
    process.stdout.write(
      `${JSON.stringify({
        bench: `device-listing:${name}`,
        devices: DEVICES,
        concurrency: CONCURRENCY,
        responseBytes: body.length,
        listingPerSec: Math.round(measured.perSec),
        listingP50Ms: Number(measured.p50.toFixed(2)),
        listingP99Ms: Number(measured.p99.toFixed(2)),
        bareRoutePerSec: Math.round(baseline.perSec),
        bareP99Ms: Number(baseline.p99.toFixed(2)),
        throughputRatio: Number((measured.perSec / baseline.perSec).toFixed(3)),
        p99Ratio: Number((measured.p99 / baseline.p99).toFixed(2)),
      })}\n`,
    );
  }
  await app.close();
  iot.destroy();
  index.close();
  await health.close();
  await rollouts.close();
  await bundles.close();
  tokens.close();
  if (process.env['BENCH_KEEP_DIR'] === undefined) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}

await main();

/**
 * End-to-end Device Shadow updates/s over a real socket, against the raw QoS 1 publish rate of the same
 * broker and the same clients in the same run. Prints one JSON line.
 *
 *   npx tsx packages/iot-core/bench/shadow-throughput.ts   [CLIENTS=8 WINDOW=10 PHASE_MS=5000 NODELAY=1]
 *
 * Each client keeps WINDOW requests in flight (AWS allows 10 per connection). Phases:
 * - raw: QoS 1 publish to a plain topic, done at PUBACK, no service running;
 * - loopback: QoS 1 publish to a topic the client subscribes to, done when it comes back;
 * - shadow: QoS 1 `/update`, done when the matching `/update/accepted` arrives (committed to SQLite,
 *   synchronous=FULL, group commit).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';

// Run against the TypeScript sources of the workspace packages, not whatever dist/ holds.
if (!process.execArgv.some((a) => a === '--conditions=source' || a === '-C' || a === '--conditions')) {
  const child = spawnSync(
    process.execPath,
    ['--conditions=source', ...process.execArgv, fileURLToPath(import.meta.url)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(child.status ?? 1);
}

const { createAedesBus, openDatabase, startEmbeddedBroker } = await import('../src/index.js');
const { createShadowService } = await import('../src/shadow/index.js');

const CLIENTS = Number(process.env['CLIENTS'] ?? 8);
const WINDOW = Number(process.env['WINDOW'] ?? 10);
const PHASE_MS = Number(process.env['PHASE_MS'] ?? 5000);
const WARMUP_MS = 500;
// Nagle's algorithm on either end holds small request/response packets for a delayed ACK (~40 ms) and
// caps every round-trip flow near 1k msg/s here whatever the service does; NODELAY=0 shows that.
const NO_DELAY = process.env['NODELAY'] !== '0';

const logger = pino({ level: 'silent' });
const broker = await startEmbeddedBroker({ logger });
if (NO_DELAY) {
  broker.aedes.on('client', (c) => (c.conn as unknown as Socket).setNoDelay?.(true));
}
const dir = mkdtempSync(join(tmpdir(), 'shadow-bench-'));

async function connect(id: string): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port: broker.port, clientId: id, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  if (NO_DELAY) (client.stream as Socket).setNoDelay(true);
  return client;
}

/** Keeps `WINDOW` operations in flight per client for `ms`; returns completed operations per second. */
async function phase(ms: number, op: (client: number, seq: number) => Promise<void>): Promise<number> {
  let completed = 0;
  let seq = 0;
  const deadline = performance.now() + ms;
  const start = performance.now();
  const lane = async (c: number): Promise<void> => {
    while (performance.now() < deadline) {
      await op(c, seq++);
      completed++;
    }
  };
  const lanes: Promise<void>[] = [];
  for (let c = 0; c < CLIENTS; c++) for (let w = 0; w < WINDOW; w++) lanes.push(lane(c));
  await Promise.all(lanes);
  return completed / ((performance.now() - start) / 1000);
}

/** Per-client waiters keyed by a string found in the received message. */
function waiters(client: MqttClient, keyOf: (topic: string, payload: Buffer) => string | undefined) {
  const pending = new Map<string, () => void>();
  client.on('message', (topic, payload) => {
    const key = keyOf(topic, payload);
    if (key === undefined) return;
    pending.get(key)?.();
    pending.delete(key);
  });
  return (key: string): Promise<void> => new Promise((resolve) => pending.set(key, resolve));
}

const things = Array.from({ length: CLIENTS }, (_, i) => `bench-${i}`);
const clients = await Promise.all(things.map((t) => connect(t)));
const body = (seq: number): string => JSON.stringify({ temp: 20 + (seq % 10), seq, status: 'ok' });

// Raw QoS 1 publishes, no service yet.
await phase(WARMUP_MS, (c, s) => clients[c]!.publishAsync(`bench/raw/${c}`, body(s), { qos: 1 }).then(() => undefined));
const raw = await phase(PHASE_MS, (c, s) =>
  clients[c]!.publishAsync(`bench/raw/${c}`, body(s), { qos: 1 }).then(() => undefined),
);

// QoS 1 loopback through the broker's fan-out.
const loopWait = clients.map((client) =>
  waiters(client, (t, p) => (t.startsWith('bench/loop/') ? p.toString() : undefined)),
);
await Promise.all(clients.map((client, c) => client.subscribeAsync(`bench/loop/${c}`, { qos: 1 })));
const loopback = await phase(PHASE_MS, (c, s) => {
  const payload = body(s);
  const back = loopWait[c]!(payload);
  clients[c]!.publish(`bench/loop/${c}`, payload, { qos: 1 });
  return back;
});

// Shadow updates, end to end.
const db = openDatabase(join(dir, 'core.db'));
const bus = createAedesBus(broker.aedes, logger);
const service = await createShadowService({ db, bus, logger });
const acceptedWait = clients.map((client) =>
  waiters(client, (t, p) =>
    t.endsWith('/update/accepted') ? (JSON.parse(p.toString()) as { clientToken?: string }).clientToken : undefined,
  ),
);
await Promise.all(
  clients.map((client, c) => client.subscribeAsync(`$aws/things/${things[c]}/shadow/update/accepted`, { qos: 1 })),
);
const update = (c: number, s: number): Promise<void> => {
  const clientToken = `c${c}-${s}`;
  const accepted = acceptedWait[c]!(clientToken);
  clients[c]!.publish(
    `$aws/things/${things[c]}/shadow/update`,
    `{"state":{"reported":${body(s)}},"clientToken":"${clientToken}"}`,
    { qos: 1 },
  );
  return accepted;
};
await phase(WARMUP_MS, update);
const shadow = await phase(PHASE_MS, update);
const stored = db.prepare('SELECT SUM(version) AS n FROM shadow_documents').get() as { n: number };

await Promise.all(clients.map((c) => c.endAsync()));
await service.close();
await bus.close();
db.close();
await broker.close();
rmSync(dir, { recursive: true, force: true });

const round = (n: number): number => Math.round(n);
console.log(
  JSON.stringify({
    bench: 'shadow-throughput',
    clients: CLIENTS,
    inFlightPerClient: WINDOW,
    phaseMs: PHASE_MS,
    tcpNoDelay: NO_DELAY,
    shadowUpdatesPerSec: round(shadow),
    rawQos1PublishesPerSec: round(raw),
    rawQos1LoopbackPerSec: round(loopback),
    ratioShadowToRaw: Number((shadow / raw).toFixed(3)),
    ratioShadowToLoopback: Number((shadow / loopback).toFixed(3)),
    storedVersions: stored.n,
  }),
);

/**
 * Health reports ingested per second against the broker's raw throughput, in the same run. BENCH_PUBLISHERS
 * device-like mqtt.js clients over TCP to the local core's embedded broker publish health reports (protocol v2,
 * one device per publisher slot, sequences rising) at QoS 1, BENCH_WINDOW in flight each, onto
 * HEALTH_REPORT_SHARED_FILTER:
 *   raw     a bare mqtt.js subscriber (persistent session, like the service's) that only PUBACKs: messages/s from
 *           the first publish to the last message received;
 *   ingest  the fleet service's health ingest as it runs in the service (its MQTT connection, startHealthIngest,
 *           the real SQLite health store in a temp file): messages/s from the first publish until all are stored;
 *   store   where the time goes: the same reports straight into the store in batches of BENCH_STORE_BATCH (the
 *           ingest's default maxBatch), no MQTT: the ceiling the ingest would reach with full batches.
 * Rounds alternate raw, ingest, raw, ingest, ... (BENCH_ROUNDS of each; each figure is the median of its rounds),
 * a fresh broker for each round. Every wait is bounded (BENCH_TIMEOUT_MS) and traces its progress on stderr; a
 * stalled round fails loudly with what it had reached.
 *
 *   pnpm --filter @otafleet/fleet-service bench      (or: npx tsx --conditions=source packages/fleet-service/bench/health-ingest.ts)
 *   env: BENCH_REPORTS (20000) BENCH_RAW_REPORTS (= BENCH_REPORTS) BENCH_ROUNDS (3) BENCH_PUBLISHERS (8) BENCH_WINDOW (50)
 *        BENCH_DEVICES (1000) BENCH_STORE_BATCH (500) BENCH_TIMEOUT_MS (300000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import { createMqttConnection, mqttJsTransport } from '@otafleet/mqtt-client';
import { HEALTH_REPORT_SHARED_FILTER, healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';
import { openSqliteHealthStore, startHealthIngest, type HealthStore } from '../src/index.js';
import { envNumber, loadAverage, median, ratio, report } from './lib.js';

const REPORTS = envNumber('BENCH_REPORTS', 20_000);
const RAW_REPORTS = envNumber('BENCH_RAW_REPORTS', REPORTS);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const PUBLISHERS = envNumber('BENCH_PUBLISHERS', 8);
const WINDOW = envNumber('BENCH_WINDOW', 50);
const DEVICES = envNumber('BENCH_DEVICES', 1000);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 300_000);
const STORE_BATCH = envNumber('BENCH_STORE_BATCH', 500);
const silent = pino({ level: 'silent' });
const BOOT = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

const trace = (text: string): void => {
  process.stderr.write(`[health-ingest bench] ${text}\n`);
};

/** Resolves once `done()` holds; traces `progress()` every 2 s; rejects after TIMEOUT_MS saying where it stood. */
async function until(what: string, done: () => boolean | Promise<boolean>, progress: () => string): Promise<void> {
  const started = performance.now();
  let lastTrace = started;
  while (!(await done())) {
    const now = performance.now();
    if (now - started > TIMEOUT_MS)
      throw new Error(`${what}: not done within ${TIMEOUT_MS} ms (${progress()}); the bench gives up`);
    if (now - lastTrace >= 2000) {
      trace(`${what}: ${progress()} after ${((now - started) / 1000).toFixed(1)} s`);
      lastTrace = now;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const reportOf = (thingName: string, sequence: number): HealthReportV2 => ({
  schemaVersion: 2,
  thingName,
  bootId: BOOT,
  bootCount: 1,
  sequence,
  timestamp: Date.now(),
  agentVersion: '0.1.0',
  firmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'A',
  status: 'healthy',
  uptimeSeconds: 60 + sequence,
  counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 10 * sequence },
  rollbackCount: 0,
  checks: [],
});

/**
 * Publisher p sends reports p, p+P, p+2P, ... of `total`; report i is device i % DEVICES at sequence
 * floor(i / DEVICES), so each device's reports come from one publisher, in order: every one is newer than the last.
 */
function reports(total: number): { topic: string; payload: string }[] {
  const devices = Array.from({ length: DEVICES }, (_v, i) => `pi-${String(i).padStart(6, '0')}`);
  return Array.from({ length: total }, (_v, i) => {
    const thing = devices[i % DEVICES] ?? '';
    return { topic: healthReportTopic(thing), payload: JSON.stringify(reportOf(thing, Math.floor(i / DEVICES))) };
  });
}

async function publishAll(port: number, total: number, published: { n: number }): Promise<void> {
  const publishers: MqttClient[] = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_v, p) =>
      mqtt.connectAsync({ host: '127.0.0.1', port, clientId: `bench-pub-${p}`, reconnectPeriod: 0 }),
    ),
  );
  const payloads = reports(total);
  try {
    await Promise.all(
      publishers.map(async (client, p) => {
        const mine = payloads.filter((_m, i) => (i % DEVICES) % PUBLISHERS === p);
        for (let i = 0; i < mine.length; i += WINDOW)
          await Promise.all(
            mine.slice(i, i + WINDOW).map(async (m) => {
              await client.publishAsync(m.topic, m.payload, { qos: 1 });
              published.n++;
            }),
          );
      }),
    );
  } finally {
    await Promise.all(publishers.map((c) => c.endAsync()));
  }
}

const brokerFor = (): Promise<EmbeddedBroker> => startEmbeddedBroker({ logger: silent });

/** Messages/s to a bare subscriber that only PUBACKs. */
async function rawRound(): Promise<number> {
  const broker = await brokerFor();
  try {
    const sub = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'bench-raw',
      clean: false,
      reconnectPeriod: 0,
    });
    let received = 0;
    sub.on('message', () => received++);
    await sub.subscribeAsync(HEALTH_REPORT_SHARED_FILTER, { qos: 1 });
    const published = { n: 0 };
    const t0 = performance.now();
    const publishing = publishAll(broker.port, RAW_REPORTS, published);
    await until(
      'raw',
      () => received >= RAW_REPORTS,
      () => `${published.n} published, ${received} received`,
    );
    const perSec = RAW_REPORTS / ((performance.now() - t0) / 1000);
    await publishing;
    // Leaves the group (an away persistent member would keep it subscribed), then goes.
    await sub.unsubscribeAsync(HEALTH_REPORT_SHARED_FILTER);
    await sub.endAsync();
    return perSec;
  } finally {
    await broker.close();
  }
}

interface IngestRound {
  readonly perSec: number;
  readonly batches: number;
  readonly meanBatch: number;
  /** Time inside the store's ingest (parse, compare, write, commit with fsync), over all batches. */
  readonly storeMs: number;
  readonly elapsedMs: number;
  /** Reports the store saw again or out of order (QoS 1 redelivery), counted and not stored twice. */
  readonly duplicates: number;
  /** Sessions the ingest's connection had (1 = it never reconnected). */
  readonly sessions: number;
  /** Why each later session's predecessor ended, as the connection reported it. */
  readonly reconnectReasons: readonly string[];
}

/** Messages/s through the fleet service's health ingest until every report is stored. */
async function ingestRound(): Promise<IngestRound> {
  const broker = await brokerFor();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-health-'));
  const store = openSqliteHealthStore(join(dir, 'health.db'));
  let stored = 0;
  let batches = 0;
  let storeMs = 0;
  const counted: HealthStore = {
    ...store,
    ingest: async (messages) => {
      const t = performance.now();
      const outcomes = await store.ingest(messages);
      storeMs += performance.now() - t;
      batches++;
      stored += outcomes.filter((o) => o.kind === 'stored').length;
      return outcomes;
    },
  };
  const bus = createMqttConnection({
    transport: mqttJsTransport({ url: `mqtt://127.0.0.1:${broker.port}` }),
    clientId: 'bench-fleet-service',
    cleanSession: false,
    logger: silent,
  });
  let sessions = 0;
  const reconnectReasons: string[] = [];
  bus.onStateChange((state) => {
    if (state.kind === 'connected') sessions++;
    if (state.kind === 'backoff') reconnectReasons.push(state.reason.message);
  });
  try {
    const granted = startHealthIngest({ bus, store: counted, filter: HEALTH_REPORT_SHARED_FILTER, logger: silent });
    bus.start();
    let subscribed = false;
    void granted.then(() => (subscribed = true));
    await until(
      'ingest subscribe',
      () => subscribed,
      () => `connection ${bus.state.kind}`,
    );
    const ingest = await granted;
    const published = { n: 0 };
    const t0 = performance.now();
    const publishing = publishAll(broker.port, REPORTS, published);
    await until(
      'ingest',
      () => stored >= REPORTS,
      () => `${published.n} published, ${stored} stored in ${batches} batches`,
    );
    const elapsedMs = performance.now() - t0;
    await publishing;
    const counts = await store.counts();
    if (counts.stored !== REPORTS || counts.deadLetters !== 0)
      throw new Error(`ingest: the store counted ${JSON.stringify(counts)}, expected ${REPORTS} stored`);
    await ingest.stop();
    return {
      perSec: REPORTS / (elapsedMs / 1000),
      batches,
      meanBatch: Number((REPORTS / batches).toFixed(2)),
      storeMs: Math.round(storeMs),
      elapsedMs: Math.round(elapsedMs),
      duplicates: (await store.counts()).duplicate + (await store.counts()).older,
      sessions,
      reconnectReasons,
    };
  } finally {
    await bus.close();
    await store.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reports/s straight into the SQLite store in full batches (one transaction, one fsync each). */
async function storeRound(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-health-store-'));
  const store = openSqliteHealthStore(join(dir, 'health.db'));
  try {
    const messages = reports(REPORTS).map((m) => ({ topic: m.topic, payload: Buffer.from(m.payload), receivedAt: 1 }));
    const t0 = performance.now();
    for (let i = 0; i < messages.length; i += STORE_BATCH) await store.ingest(messages.slice(i, i + STORE_BATCH));
    return REPORTS / ((performance.now() - t0) / 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const raws: number[] = [];
const ingests: IngestRound[] = [];
for (let r = 0; r < ROUNDS; r++) {
  raws.push(await rawRound());
  trace(`raw round ${r + 1}: ${Math.round(raws[r] ?? 0)}/s`);
  const round = await ingestRound();
  ingests.push(round);
  trace(`ingest round ${r + 1}: ${Math.round(round.perSec)}/s in ${round.batches} batches`);
}
const storeOnly = await storeRound();
trace(`store alone, batches of ${STORE_BATCH}: ${Math.round(storeOnly)}/s`);
const raw = median(raws);
const ingestPerSec = median(ingests.map((i) => i.perSec));
// The round whose figure is the median, for its batches and time in the store.
const ingest = ingests.find((i) => i.perSec === ingestPerSec) ?? ingests[0];
if (ingest === undefined) throw new Error('no ingest round ran');
report({
  bench: 'health-ingest',
  reports: REPORTS,
  rawReports: RAW_REPORTS,
  publishers: PUBLISHERS,
  window: WINDOW,
  devices: DEVICES,
  rawPerSec: Math.round(raw),
  rawRounds: raws.map(Math.round),
  ingestPerSec: Math.round(ingestPerSec),
  ingestRounds: ingests.map((i) => Math.round(i.perSec)),
  ratio: ratio(ingestPerSec, raw),
  target: 0.5,
  ingestBatches: ingest.batches,
  meanBatch: ingest.meanBatch,
  storeMs: ingest.storeMs,
  ingestElapsedMs: ingest.elapsedMs,
  ingestDuplicates: ingest.duplicates,
  ingestSessions: ingest.sessions,
  ingestReconnectReasons: ingest.reconnectReasons,
  storeBatch: STORE_BATCH,
  storeOnlyPerSec: Math.round(storeOnly),
  storeOnlyRatio: ratio(storeOnly, raw),
  ...loadAverage(),
});
process.exit(0);

/**
 * Health ingest shared by several fleet-service instances over `HEALTH_REPORT_SHARED_FILTER`: two ingest
 * processes (each its own persistent MQTT session, one SQLite health store file between them) against the local
 * core's embedded broker (MQTT 3.1.1) and against Mosquitto 2 (MQTT 5). Each report is stored exactly once in
 * total, both members take a share, and a member killed with SIGKILL mid-stream loses nothing: what it held
 * unacknowledged is redelivered (QoS 1) to it when it comes back, and the rest went to the other member.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireMosquitto, startMosquitto, startTestCore } from '@otafleet/iot-core/testing';
import { healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';

const MEMBER = new URL('./fixtures/health-ingest-member.ts', import.meta.url).pathname;
const BOOT = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

const report = (thingName: string): HealthReportV2 => ({
  schemaVersion: 2,
  thingName,
  bootId: BOOT,
  bootCount: 1,
  sequence: 0,
  timestamp: Date.now(),
  agentVersion: '0.1.0',
  firmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'A',
  status: 'healthy',
  uptimeSeconds: 60,
  counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 10 },
  rollbackCount: 0,
  checks: [],
});
/** One report from each of `n` devices: "stored once" is then one row per device. */
const things = (n: number): string[] => Array.from({ length: n }, (_v, i) => `pi-${String(i).padStart(5, '0')}`);

interface Member {
  readonly child: ChildProcess;
  /** Reports this process committed so far (its `took N` lines). */
  took(): number;
  readonly exited: Promise<void>;
}

/** Starts an ingest process and waits (bounded) until its subscription is granted. */
async function startMember(url: string, clientId: string, db: string): Promise<Member> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MEMBER, url, clientId, db], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let took = 0;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${clientId} not ready within 20 s: ${stderr}`)), 20_000);
    child.once('exit', (code, signal) => reject(new Error(`${clientId} exited (${code ?? signal}): ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (line.startsWith('took ')) took += Number(line.slice(5));
    });
  });
  return { child, took: () => took, exited };
}

async function stopMember(m: Member): Promise<void> {
  if (m.child.exitCode !== null || m.child.signalCode !== null) return;
  m.child.kill('SIGTERM');
  const killer = setTimeout(() => m.child.kill('SIGKILL'), 5_000);
  await m.exited;
  clearTimeout(killer);
}

/** Rows of the shared store: devices with a report, and the ingest counters. */
function storeState(db: string): { devices: number; stored: number; duplicate: number } {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const devices = (conn.prepare('SELECT count(*) AS n FROM device_health').get() as { n: number }).n;
    const counts = new Map(
      (conn.prepare('SELECT kind, n FROM ingest_count').all() as { kind: string; n: number }[]).map((r) => [
        r.kind,
        r.n,
      ]),
    );
    return { devices, stored: counts.get('stored') ?? 0, duplicate: counts.get('duplicate') ?? 0 };
  } finally {
    conn.close();
  }
}

async function publishReports(url: string, names: readonly string[], acked = { n: 0 }): Promise<void> {
  const publisher: MqttClient = await mqtt.connectAsync(url, { clientId: 'publisher', reconnectPeriod: 0 });
  try {
    // 50 in flight at once: a steady stream, each acknowledged by the broker.
    for (let i = 0; i < names.length; i += 50)
      await Promise.all(
        names.slice(i, i + 50).map(async (t) => {
          await publisher.publishAsync(healthReportTopic(t), JSON.stringify(report(t)), { qos: 1 });
          acked.n++;
        }),
      );
  } finally {
    await publisher.endAsync();
  }
}

interface Broker {
  readonly url: string;
  stop(): Promise<void>;
}

const brokers: Record<string, () => Promise<Broker>> = {
  'the local core (embedded broker, MQTT 3.1.1)': async () => {
    const core = await startTestCore({ insecureTcp: true });
    return { url: `mqtt://127.0.0.1:${core.endpoints.mqttTcp ?? 0}`, stop: () => core.stop() };
  },
  'Mosquitto 2 (MQTT 5)': async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shared-ingest-mosq-'));
    const port = await freePort();
    const config = join(dir, 'mosquitto.conf');
    writeFileSync(
      config,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // A persistent session's queue while it is away: the default (1000) would drop reports.
        'max_queued_messages 0',
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        '',
      ].join('\n'),
    );
    const mosquitto = await startMosquitto(requireMosquitto(), config, port);
    return {
      url: `mqtt://127.0.0.1:${port}`,
      stop: async () => {
        await mosquitto.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

describe.each(Object.keys(brokers))('shared health ingest on %s', (name) => {
  let broker: Broker;
  let dir: string;
  let members: Member[] = [];

  beforeAll(async () => {
    broker = await (brokers[name] ?? (() => Promise.reject(new Error(name))))();
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map(stopMember));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores each report exactly once across two ingest processes, both taking a share', async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-ingest-'));
    const db = join(dir, 'health.db');
    const [a, b] = await Promise.all([startMember(broker.url, 'fleet-a', db), startMember(broker.url, 'fleet-b', db)]);
    members = [a, b];
    const N = 600;
    await publishReports(broker.url, things(N));
    await expect.poll(() => storeState(db).devices, { timeout: 60_000, interval: 200 }).toBe(N);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives: no report went to both
    expect(storeState(db)).toEqual({ devices: N, stored: N, duplicate: 0 });
    expect(a.took() + b.took()).toBe(N);
    expect(a.took()).toBeGreaterThan(N / 4);
    expect(b.took()).toBeGreaterThan(N / 4);
  }, 90_000);

  it('loses nothing when a member is killed with SIGKILL mid-stream and comes back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-ingest-'));
    const db = join(dir, 'health.db');
    const a = await startMember(broker.url, 'fleet-a', db);
    const b = await startMember(broker.url, 'fleet-b', db);
    members = [a, b];
    const N = 5000;
    const acked = { n: 0 };
    const publishing = publishReports(broker.url, things(N), acked);
    await expect.poll(() => a.took(), { timeout: 30_000, interval: 5 }).toBeGreaterThan(20);
    a.child.kill('SIGKILL'); // its share in flight, unacknowledged
    expect(acked.n).toBeLessThan(N); // mid-stream: the publisher is still going
    await a.exited;
    await publishing;
    // A supervisor restarts it under the same client id: its session's queue is redelivered to it.
    const again = await startMember(broker.url, 'fleet-a', db);
    members = [again, b];
    await expect.poll(() => storeState(db).devices, { timeout: 60_000, interval: 200 }).toBe(N);
    const state = storeState(db);
    expect(state.stored).toBe(N); // once each; a redelivered report already committed counts as a duplicate
    expect(b.took()).toBeGreaterThan(0);
    expect(again.took()).toBeGreaterThan(0); // what it held unacknowledged at the kill came back to it
  }, 120_000);
});

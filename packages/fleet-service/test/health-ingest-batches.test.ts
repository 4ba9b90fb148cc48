/**
 * The health ingest takes reports pipelined, so a burst is written in a few transactions instead of one per
 * report; and a batch the store cannot write is never acknowledged: retried while running, redelivered by the
 * broker after a stop. Real local core over mutual TLS, the real MQTT client, a real SQLite store (wrapped to
 * count its batches and to fail on purpose).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueDeviceToDirectory,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';
import { createMqttConnection, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';
import { openSqliteHealthStore, startHealthIngest, type HealthStore } from '../src/index.js';

const silent = pino({ level: 'silent' });
const THING = 'pi-burst';
let dir: string;
let core: LocalCore;
let device: MqttClient;
let service: { cert: Buffer; key: Buffer; ca: Buffer };

const report = (bootId: string, sequence: number): HealthReportV2 => ({
  schemaVersion: 2,
  thingName: THING,
  bootId,
  bootCount: 1,
  sequence,
  timestamp: Date.now(),
  agentVersion: '0.1.0',
  firmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'A',
  status: 'healthy',
  uptimeSeconds: 60 + sequence,
  counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 10 },
  rollbackCount: 0,
  checks: [],
});

/** The real store, counting the batches it is given and failing the ones `fail` says to. */
function countingStore(inner: HealthStore, fail: () => boolean): { store: HealthStore; batches: number[] } {
  const batches: number[] = [];
  const store: HealthStore = {
    ...inner,
    ingest: (messages) => {
      if (fail()) return Promise.reject(new Error('disk I/O error (injected)'));
      batches.push(messages.length);
      return inner.ingest(messages);
    },
    device: (t) => inner.device(t),
    sample: (t, v) => inner.sample(t, v),
    deadLetters: (o) => inner.deadLetters(o),
    counts: () => inner.counts(),
    fleetCounts: () => inner.fleetCounts(),
    close: () => inner.close(),
  };
  return { store, batches };
}

const serviceBus = (clientId: string): MqttConnection =>
  createMqttConnection({
    transport: mqttJsTransport({ url: `mqtts://127.0.0.1:${core.mqttTlsPort ?? 0}`, tls: service }),
    clientId,
    cleanSession: false,
    logger: silent,
  });

async function until(predicate: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const newestSequence = async (store: HealthStore): Promise<number | undefined> =>
  (await store.device(THING))?.report.sequence;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-health-batches-'));
  core = await startLocalCore(
    loadConfig(
      ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
      {},
    ),
    silent,
  );
  const cred = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
  service = { cert: readFileSync(cred.certPath), key: readFileSync(cred.keyPath), ca: readFileSync(cred.caPath) };
  const credentials = await issueDeviceToDirectory(core.pki.dir, THING);
  device = await mqtt.connectAsync({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: core.mqttTlsPort ?? 0,
    clientId: THING,
    cert: readFileSync(credentials.certPath),
    key: readFileSync(credentials.keyPath),
    ca: readFileSync(credentials.caPath),
    reconnectPeriod: 0,
  });
});

afterAll(async () => {
  await device?.endAsync();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('health ingest batches', () => {
  it('a burst of 300 reports is written in batches (pipelined delivery), every report once', async () => {
    const inner = openSqliteHealthStore(join(dir, 'burst.db'));
    const { store, batches } = countingStore(inner, () => false);
    const bus = serviceBus('fleet-burst');
    const ingest = startHealthIngest({ bus, store, filter: 'dt/+/health', logger: silent });
    bus.start();
    await ingest;
    const boot = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        device.publishAsync(healthReportTopic(THING), JSON.stringify(report(boot, i)), { qos: 1 }),
      ),
    );
    await until(async () => (await newestSequence(store)) === 299, 'the last report stored');
    await (await ingest).stop();
    await bus.close();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    // One at a time would be 300 transactions.
    expect(batches.length).toBeLessThan(60);
    await inner.close();
  });

  it('a batch the store cannot write is retried, and after a stop redelivered: nothing acknowledged unwritten', async () => {
    const inner = openSqliteHealthStore(join(dir, 'failing.db'));
    let failures = 2;
    const flaky = countingStore(inner, () => failures-- > 0);
    const bus = serviceBus('fleet-failing');
    const ingest = await (async () => {
      const started = startHealthIngest({
        bus,
        store: flaky.store,
        filter: 'dt/+/health',
        logger: silent,
        retryMs: 20,
      });
      bus.start();
      return started;
    })();
    const boot = '7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d';
    await device.publishAsync(healthReportTopic(THING), JSON.stringify(report(boot, 0)), { qos: 1 });
    await until(async () => (await newestSequence(inner)) === 0, 'the retried report');
    expect(failures).toBeLessThan(0); // both failures happened before it was written

    // Now the disk stays broken: the report must not be acknowledged, so a stop leaves it with the broker.
    failures = Number.POSITIVE_INFINITY;
    await device.publishAsync(healthReportTopic(THING), JSON.stringify(report(boot, 1)), { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await ingest.stop();
    await bus.close();
    expect(await newestSequence(inner)).toBe(0);

    const healthy = countingStore(inner, () => false);
    const again = serviceBus('fleet-failing');
    const resumed = startHealthIngest({ bus: again, store: healthy.store, filter: 'dt/+/health', logger: silent });
    again.start();
    await until(async () => (await newestSequence(inner)) === 1, 'the redelivered report');
    await (await resumed).stop();
    await again.close();
    await inner.close();
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';
import { DEAD_LETTER_MAX_BYTES, openSqliteHealthStore, type HealthStore } from '@otafleet/fleet-service';

const open = (): { store: HealthStore; path: string } => {
  const path = join(mkdtempSync(join(tmpdir(), 'health-store-')), 'fleet.db');
  return { store: openSqliteHealthStore(path), path };
};

const boot = randomUUID();
const report = (thingName: string, over: Partial<HealthReportV2> = {}): HealthReportV2 => ({
  schemaVersion: 2,
  thingName,
  bootId: boot,
  bootCount: 3,
  sequence: 0,
  timestamp: 1_700_000_000_000,
  agentVersion: '0.1.0',
  firmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'A',
  status: 'healthy',
  uptimeSeconds: 3600,
  counters: { processRestarts: 1, crashes: 0, errors: 2, requests: 1000 },
  rollbackCount: 0,
  checks: [],
  ...over,
});
const message = (r: HealthReportV2, receivedAt = 1): { topic: string; payload: Uint8Array; receivedAt: number } => ({
  topic: healthReportTopic(r.thingName),
  payload: Buffer.from(JSON.stringify(r)),
  receivedAt,
});

describe('health store', () => {
  it('keeps the newest report per device by sequence and boot chain, not by the device clock', async () => {
    const { store } = open();
    const next = randomUUID();
    const outcomes = await store.ingest([
      message(report('pi-1', { sequence: 0 })),
      message(report('pi-1', { sequence: 2, timestamp: 1 })),
      message(report('pi-1', { sequence: 2 })),
      message(report('pi-1', { sequence: 1 })),
      message(report('pi-1', { bootId: next, previousBootId: boot, bootCount: 4, sequence: 0, timestamp: 0 })),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'duplicate', 'older', 'stored']);
    const kept = await store.device('pi-1');
    expect(kept?.report).toMatchObject({ bootId: next, sequence: 0 });
    expect(await store.counts()).toEqual({ stored: 3, duplicate: 1, older: 1, deadLetters: 0 });
    await store.close();
  });

  it('samples a set of devices on a version, and the same devices before it', async () => {
    const { store } = open();
    await store.ingest([
      message(report('pi-1', { sequence: 0, counters: { processRestarts: 0, crashes: 1, errors: 0, requests: 10 } })),
      message(report('pi-2', { sequence: 0, status: 'unhealthy' })),
      message(report('pi-3', { sequence: 0 })),
    ]);
    await store.ingest([
      message(
        report('pi-1', {
          sequence: 1,
          firmwareVersion: '1.1.0',
          uptimeSeconds: 60,
          counters: { processRestarts: 5, crashes: 4, errors: 3, requests: 100 },
        }),
      ),
    ]);
    expect(await store.sample(['pi-1', 'pi-2', 'pi-x'], { firmwareVersion: '1.1.0' })).toEqual({
      devices: 1,
      unhealthy: 0,
      uptimeSeconds: 60,
      crashes: 4,
      restarts: 5,
      errors: 3,
      requests: 100,
    });
    expect(await store.sample(['pi-1', 'pi-2'], { firmwareVersion: '1.1.0', not: true })).toEqual({
      devices: 2,
      unhealthy: 1,
      uptimeSeconds: 7200,
      crashes: 1,
      restarts: 1,
      errors: 2,
      requests: 1010,
    });
    expect((await store.sample([], { firmwareVersion: '1.1.0' })).devices).toBe(0);
    await store.close();
  });

  it.each([
    ['an unknown topic', 'dt/pi-1/other', Buffer.from('{}'), 'UNKNOWN_TOPIC'],
    ['malformed JSON', 'dt/pi-1/health', Buffer.from('{"schemaVersion":'), 'INVALID_JSON'],
    [
      'wrong types',
      'dt/pi-1/health',
      Buffer.from(JSON.stringify({ ...report('pi-1'), sequence: 'x' })),
      'INVALID_FIELDS',
    ],
    ['another thing’s name', 'dt/pi-2/health', Buffer.from(JSON.stringify(report('pi-1'))), 'INVALID_FIELDS'],
    ['an oversized payload', 'dt/pi-1/health', Buffer.alloc(100_000, 0x20), 'PAYLOAD_TOO_LARGE'],
  ])(
    'sends %s to the dead-letter store with the reason and the raw payload, storing nothing',
    async (_, topic, payload, code) => {
      const { store } = open();
      const [outcome] = await store.ingest([{ topic, payload, receivedAt: 42 }]);
      expect(outcome).toMatchObject({ kind: 'dead-letter', code });
      const [letter] = await store.deadLetters();
      expect(letter).toMatchObject({ topic, code, receivedAt: 42, payloadBytes: payload.byteLength });
      expect(letter?.reason.length).toBeGreaterThan(10);
      expect(letter?.payload.equals(payload.subarray(0, DEAD_LETTER_MAX_BYTES))).toBe(true);
      expect(await store.device('pi-1')).toBeUndefined();
      expect((await store.counts()).deadLetters).toBe(1);
      await store.close();
    },
  );

  it('keeps what it stored across a reopen and pages dead letters', async () => {
    const { store, path } = open();
    await store.ingest([
      message(report('pi-1')),
      ...Array.from({ length: 5 }, () => ({ topic: 'x', payload: Buffer.from('y'), receivedAt: 1 })),
    ]);
    await store.close();
    const again = openSqliteHealthStore(path);
    expect((await again.device('pi-1'))?.report.firmwareVersion).toBe('1.0.0');
    const first = await again.deadLetters({ limit: 2 });
    const rest = await again.deadLetters({ afterId: first[1]?.id ?? 0 });
    expect(first.length).toBe(2);
    expect(rest.length).toBe(3);
    await again.close();
  });
});

import { compareReportOrder, parseHealthReport, parseHealthReportTopic, type HealthReport } from '@otafleet/protocol';
import type { HealthSample } from '../rollout/health-gate.js';
import { openFleetDatabase, settle } from '../sqlite.js';
import {
  DEAD_LETTER_MAX_BYTES,
  type DeadLetter,
  type DeviceHealth,
  type HealthStore,
  type IncomingMessage,
  type IngestOutcome,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS device_health (
  thing_name TEXT PRIMARY KEY, report TEXT NOT NULL, received_at INTEGER NOT NULL,
  firmware_version TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_version_health (
  thing_name TEXT NOT NULL, firmware_version TEXT NOT NULL, report TEXT NOT NULL, received_at INTEGER NOT NULL,
  unhealthy INTEGER NOT NULL, uptime_seconds INTEGER NOT NULL, crashes INTEGER NOT NULL, restarts INTEGER NOT NULL,
  errors INTEGER NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (thing_name, firmware_version));
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, topic TEXT NOT NULL, code TEXT NOT NULL,
  reason TEXT NOT NULL, payload BLOB NOT NULL, payload_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ingest_count (kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
`;

interface SampleRow {
  devices: number;
  unhealthy: number | null;
  uptime: number | null;
  crashes: number | null;
  restarts: number | null;
  errors: number | null;
  requests: number | null;
}

/** Version 1 reports carry no counters: they count as a device that reported, with nothing against it. */
function countersOf(report: HealthReport): { crashes: number; restarts: number; errors: number; requests: number } {
  if (report.schemaVersion === 1) return { crashes: 0, restarts: 0, errors: 0, requests: 0 };
  const c = report.counters;
  return { crashes: c.crashes, restarts: c.processRestarts, errors: c.errors, requests: c.requests };
}

export function openSqliteHealthStore(path: string): HealthStore {
  const db = openFleetDatabase(path);
  db.exec(SCHEMA);

  const q = {
    last: db.prepare<[string], { report: string; received_at: number }>(
      'SELECT report, received_at FROM device_health WHERE thing_name = ?',
    ),
    putLast: db.prepare(
      'INSERT INTO device_health (thing_name, report, received_at, firmware_version, status) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (thing_name) DO UPDATE SET report = excluded.report, received_at = excluded.received_at, ' +
        'firmware_version = excluded.firmware_version, status = excluded.status',
    ),
    putVersion: db.prepare(
      'INSERT OR REPLACE INTO device_version_health (thing_name, firmware_version, report, received_at, unhealthy, ' +
        'uptime_seconds, crashes, restarts, errors, requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    putDeadLetter: db.prepare(
      'INSERT INTO dead_letter (received_at, topic, code, reason, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deadLetters: db.prepare<[number, number], Record<string, unknown>>(
      'SELECT * FROM dead_letter WHERE id > ? ORDER BY id LIMIT ?',
    ),
    bump: db.prepare(
      'INSERT INTO ingest_count (kind, n) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET n = n + excluded.n',
    ),
    counts: db.prepare<[], { kind: string; n: number }>('SELECT kind, n FROM ingest_count'),
    byStatus: db.prepare<[], { k: string; n: number }>(
      'SELECT status AS k, count(*) AS n FROM device_health GROUP BY status',
    ),
    byCode: db.prepare<[], { k: string; n: number }>('SELECT code AS k, count(*) AS n FROM dead_letter GROUP BY code'),
    sample: db.prepare<[string, string], SampleRow>(
      'SELECT count(*) AS devices, sum(unhealthy) AS unhealthy, sum(uptime_seconds) AS uptime, sum(crashes) AS crashes, ' +
        'sum(restarts) AS restarts, sum(errors) AS errors, sum(requests) AS requests FROM device_version_health ' +
        'WHERE thing_name IN (SELECT value FROM json_each(?)) AND firmware_version = ?',
    ),
    // The newest report of any other version, per device: the device's own "before" figures.
    sampleOther: db.prepare<[string, string], SampleRow>(
      'SELECT count(*) AS devices, sum(unhealthy) AS unhealthy, sum(uptime_seconds) AS uptime, sum(crashes) AS crashes, ' +
        'sum(restarts) AS restarts, sum(errors) AS errors, sum(requests) AS requests FROM (' +
        'SELECT *, row_number() OVER (PARTITION BY thing_name ORDER BY received_at DESC) AS rn FROM device_version_health ' +
        'WHERE thing_name IN (SELECT value FROM json_each(?)) AND firmware_version <> ?) WHERE rn = 1',
    ),
  };

  const deadLetter = (m: IncomingMessage, code: string, reason: string): IngestOutcome => {
    const payload = Buffer.from(
      m.payload.buffer,
      m.payload.byteOffset,
      Math.min(m.payload.byteLength, DEAD_LETTER_MAX_BYTES),
    );
    q.putDeadLetter.run(m.receivedAt, m.topic, code, reason, payload, m.payload.byteLength);
    return { kind: 'dead-letter', code, reason };
  };

  const ingestOne = (m: IncomingMessage): IngestOutcome => {
    const topic = parseHealthReportTopic(m.topic);
    if (topic === undefined) return deadLetter(m, 'UNKNOWN_TOPIC', `not a health report topic: ${m.topic}`);
    const parsed = parseHealthReport(m.payload, topic.thingName);
    if (!parsed.ok) return deadLetter(m, parsed.error.code, parsed.error.message);
    const report = parsed.value;
    const lastRow = q.last.get(topic.thingName);
    if (lastRow !== undefined) {
      const ordering = compareReportOrder(JSON.parse(lastRow.report) as HealthReport, report);
      if (ordering.order !== 'newer')
        return { kind: ordering.order, thingName: topic.thingName, basis: ordering.basis };
    }
    const text = JSON.stringify(report);
    q.putLast.run(topic.thingName, text, m.receivedAt, report.firmwareVersion, report.status);
    const c = countersOf(report);
    q.putVersion.run(
      topic.thingName,
      report.firmwareVersion,
      text,
      m.receivedAt,
      report.status === 'unhealthy' ? 1 : 0,
      report.uptimeSeconds,
      c.crashes,
      c.restarts,
      c.errors,
      c.requests,
    );
    return { kind: 'stored', thingName: topic.thingName };
  };

  const ingestBatch = db.transaction((messages: readonly IncomingMessage[]): IngestOutcome[] => {
    const outcomes = messages.map(ingestOne);
    const tally = new Map<string, number>();
    for (const o of outcomes) {
      const kind = o.kind === 'dead-letter' ? 'deadLetters' : o.kind;
      tally.set(kind, (tally.get(kind) ?? 0) + 1);
    }
    for (const [kind, n] of tally) q.bump.run(kind, n);
    return outcomes;
  });

  const sampleOf = (row: SampleRow | undefined): HealthSample => ({
    devices: row?.devices ?? 0,
    unhealthy: row?.unhealthy ?? 0,
    uptimeSeconds: row?.uptime ?? 0,
    crashes: row?.crashes ?? 0,
    restarts: row?.restarts ?? 0,
    errors: row?.errors ?? 0,
    requests: row?.requests ?? 0,
  });

  return {
    ingest: (messages) => settle(() => ingestBatch.immediate(messages)),
    device: (thingName) =>
      settle((): DeviceHealth | undefined => {
        const row = q.last.get(thingName);
        return row === undefined
          ? undefined
          : { thingName, report: JSON.parse(row.report) as HealthReport, receivedAt: row.received_at };
      }),
    sample: (thingNames, version) =>
      settle(() =>
        sampleOf(
          (version.not === true ? q.sampleOther : q.sample).get(JSON.stringify(thingNames), version.firmwareVersion),
        ),
      ),
    deadLetters: (options) =>
      settle(() =>
        q.deadLetters.all(options?.afterId ?? 0, options?.limit ?? 100).map((r): DeadLetter => ({
          id: r.id as number,
          receivedAt: r.received_at as number,
          topic: r.topic as string,
          code: r.code as string,
          reason: r.reason as string,
          payload: r.payload as Buffer,
          payloadBytes: r.payload_bytes as number,
        })),
      ),
    counts: () =>
      settle(() => {
        const byKind = new Map(q.counts.all().map((r) => [r.kind, r.n]));
        return {
          stored: byKind.get('stored') ?? 0,
          duplicate: byKind.get('duplicate') ?? 0,
          older: byKind.get('older') ?? 0,
          deadLetters: byKind.get('deadLetters') ?? 0,
        };
      }),
    fleetCounts: () =>
      settle(() => ({
        byStatus: Object.fromEntries(q.byStatus.all().map((r) => [r.k, r.n])),
        deadLettersByCode: Object.fromEntries(q.byCode.all().map((r) => [r.k, r.n])),
      })),
    close: () => settle(() => void db.close()),
  };
}

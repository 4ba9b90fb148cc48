import { describe, expect, it } from 'vitest';
import {
  HEALTH_REPORT_MAX_BYTES,
  encodeHealthReport,
  parseHealthReport,
  type HealthReport,
  type HealthReportV1,
  type HealthReportV2,
} from '@otafleet/protocol';
import { expectInvalidAt, failure, withField } from './ota-test-helpers.js';

const reportV2: HealthReportV2 = {
  schemaVersion: 2,
  thingName: 'pi-0001',
  bootId: '6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b',
  previousBootId: '0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c',
  bootCount: 12,
  sequence: 3,
  timestamp: 1_767_225_600_000,
  agentVersion: '0.2.0',
  firmwareVersion: '1.1.0',
  previousFirmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'B',
  status: 'healthy',
  uptimeSeconds: 3600,
  counters: { processRestarts: 1, crashes: 0, errors: 2, requests: 5400 },
  rollbackCount: 1,
  lastUpdate: {
    jobId: 'rollout-7-wave-2',
    operation: 'ota.install',
    component: 'application',
    result: 'succeeded',
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    rolloutId: 'rollout-7',
    waveId: 'wave-2',
    at: 1_767_225_000_000,
  },
  checks: [
    { name: 'app-http', status: 'healthy' },
    { name: 'mqtt', status: 'healthy', detail: 'connected, shadow in sync' },
  ],
  ota: {
    jobId: 'rollout-8-wave-1',
    operation: 'ota.install',
    phase: 'downloading',
    progress: 12,
    rolloutId: 'rollout-8',
  },
};

const reportV1: HealthReportV1 = {
  schemaVersion: 1,
  thingName: 'pi-0001',
  timestamp: 1_700_000_000_000,
  sequence: 7,
  agentVersion: '0.1.0',
  firmwareVersion: '1.1.0',
  activeSlot: 'B',
  status: 'healthy',
  uptimeSeconds: 42,
  checks: [],
};

const parse = (r: unknown) => parseHealthReport(JSON.stringify(r), 'pi-0001');

describe('health report v2', () => {
  it('round-trips, and v1 reports still parse, told apart by schemaVersion', () => {
    expect(parse(reportV2)).toEqual({ ok: true, value: reportV2 });
    const minimal = withField(
      withField(withField(reportV2, '/lastUpdate', undefined), '/ota', undefined),
      '/previousFirmwareVersion',
      undefined,
    );
    expect(parse(minimal)).toEqual({ ok: true, value: minimal });
    const v1 = parse(reportV1);
    expect(v1).toEqual({ ok: true, value: reportV1 });
    const kinds = [reportV1, reportV2].map((r: HealthReport) => (r.schemaVersion === 2 ? r.bootId : 'v1'));
    expect(kinds).toEqual(['v1', reportV2.bootId]);
  });

  it('encodeHealthReport gives the bytes the fleet service accepts', () => {
    const encoded = encodeHealthReport(reportV2);
    expect(encoded.ok).toBe(true);
    if (encoded.ok) expect(parse(JSON.parse(encoded.value))).toEqual({ ok: true, value: reportV2 });
    expect(failure(encodeHealthReport({ ...reportV2, sequence: -1 })).code).toBe('INVALID_FIELDS');
  });

  const cases: [string, unknown, string?][] = [
    ['/thingName', 'pi 0001'],
    ['/thingName', 'pi-0002'],
    ['/bootId', '6F1C2B8E-3D4A-4E5F-9A0B-1C2D3E4F5A6B'],
    ['/bootId', 'boot-1'],
    ['/previousBootId', 'yesterday'],
    ['/bootCount', 0],
    ['/sequence', -1],
    ['/sequence', 1.5],
    ['/timestamp', '2026-01-01T00:00:00Z'],
    ['/agentVersion', 'dev'],
    ['/firmwareVersion', undefined],
    ['/previousFirmwareVersion', '1.0'],
    ['/hardwareType', '-rpi4'],
    ['/activeSlot', 'C'],
    ['/status', 'fine'],
    ['/uptimeSeconds', -5],
    ['/counters', undefined],
    ['/counters/processRestarts', -1],
    ['/counters/crashes', 0.5],
    ['/counters/errors', '2'],
    ['/counters/requests', undefined],
    ['/counters/extra', 1],
    ['/rollbackCount', -1],
    ['/lastUpdate/jobId', 'job.1'],
    ['/lastUpdate/operation', 'ota.reboot'],
    ['/lastUpdate/component', 'kernel'],
    ['/lastUpdate/result', 'ok'],
    ['/lastUpdate/reasonCode', 'NOPE'],
    ['/lastUpdate/reason', ''],
    ['/lastUpdate/fromVersion', 'x'],
    ['/lastUpdate/toVersion', 'x'],
    ['/lastUpdate/rolloutId', ''],
    ['/lastUpdate/waveId', 'w'.repeat(65)],
    ['/lastUpdate/at', -1],
    ['/lastUpdate/extra', 1],
    ['/checks', Array.from({ length: 17 }, (_, i) => ({ name: `c${i}`, status: 'healthy' }))],
    ['/checks/0/name', ''],
    ['/checks/0/status', 'ok'],
    ['/checks/1/detail', 'd'.repeat(201)],
    ['/checks/1/detail', 'two\nlines'],
    ['/ota/jobId', ''],
    ['/ota/operation', undefined],
    ['/ota/phase', 'committed'],
    ['/ota/progress', 101],
    ['/ota/waveId', ''],
    ['/extra', 1],
  ];
  it.each(cases)('refuses %s = %j at its path', (pointer, value, path) => {
    expectInvalidAt(parse(withField(reportV2, pointer, value)), path ?? pointer);
  });

  it.each([
    ['failed', undefined, 'is required'],
    ['rolled-back', undefined, 'is required'],
    ['rejected', 'HEALTH_CHECK_FAILED', 'does not fit'],
    ['failed', 'BUNDLE_HARDWARE_MISMATCH', 'does not fit'],
    ['succeeded', 'DOWNLOAD_FAILED', 'does not fit'],
    ['canceled', 'CRASH_LOOP', 'does not fit'],
  ] as const)('lastUpdate result %s with reasonCode %s is refused', (result, reasonCode, words) => {
    const update = { ...reportV2.lastUpdate, result, ...(reasonCode === undefined ? {} : { reasonCode }) };
    const r = parse({ ...reportV2, lastUpdate: update });
    expectInvalidAt(r, '/lastUpdate/reasonCode');
    expect(failure(r).message).toContain(words);
  });

  it.each([
    ['succeeded', 'ROLLED_BACK'],
    ['rolled-back', 'HEALTH_CHECK_TIMEOUT'],
    ['failed', 'TIMED_OUT'],
    ['rejected', 'PRECONDITION_FAILED'],
    ['canceled', 'CANCELED'],
    ['downloaded', undefined],
  ] as const)('lastUpdate result %s with reasonCode %s is accepted', (result, reasonCode) => {
    const update = { ...reportV2.lastUpdate, result, ...(reasonCode === undefined ? {} : { reasonCode }) };
    expect(parse({ ...reportV2, lastUpdate: update }).ok).toBe(true);
  });

  it('a newer schemaVersion is UNSUPPORTED_SCHEMA_VERSION, not malformed', () => {
    expect(failure(parse({ ...reportV2, schemaVersion: 3 })).code).toBe('UNSUPPORTED_SCHEMA_VERSION');
    expectInvalidAt(parse({ ...reportV2, schemaVersion: 0 }), '/schemaVersion');
  });

  it('a report at every limit fits 8 KB in ASCII; past the limit it is refused before decoding', () => {
    const v = `1.0.0-${'a'.repeat(122)}`;
    const max: HealthReportV2 = {
      ...reportV2,
      thingName: 't'.repeat(128),
      bootCount: Number.MAX_SAFE_INTEGER,
      sequence: Number.MAX_SAFE_INTEGER,
      timestamp: Number.MAX_SAFE_INTEGER,
      agentVersion: v,
      firmwareVersion: v,
      previousFirmwareVersion: v,
      hardwareType: `h${'x'.repeat(63)}`,
      status: 'unhealthy',
      uptimeSeconds: Number.MAX_SAFE_INTEGER,
      counters: {
        processRestarts: Number.MAX_SAFE_INTEGER,
        crashes: Number.MAX_SAFE_INTEGER,
        errors: Number.MAX_SAFE_INTEGER,
        requests: Number.MAX_SAFE_INTEGER,
      },
      rollbackCount: Number.MAX_SAFE_INTEGER,
      lastUpdate: {
        jobId: 'j'.repeat(64),
        operation: 'ota.rollback',
        component: 'application',
        result: 'rolled-back',
        reasonCode: 'BUNDLE_PAYLOAD_DIGEST_MISMATCH',
        reason: 'r'.repeat(512),
        fromVersion: v,
        toVersion: v,
        rolloutId: 'r'.repeat(64),
        waveId: 'w'.repeat(64),
        at: Number.MAX_SAFE_INTEGER,
      },
      checks: Array.from({ length: 16 }, (_, i) => ({
        name: `${i}`.padEnd(64, 'c'),
        status: 'unhealthy',
        detail: 'd'.repeat(200),
      })),
      ota: {
        jobId: 'j'.repeat(64),
        operation: 'ota.rollback',
        phase: 'waiting-for-window',
        progress: 100,
        rolloutId: 'r'.repeat(64),
        waveId: 'w'.repeat(64),
      },
    };
    const encoded = encodeHealthReport(max);
    expect(encoded.ok).toBe(true);
    if (encoded.ok) expect(Buffer.byteLength(encoded.value)).toBeLessThanOrEqual(HEALTH_REPORT_MAX_BYTES);
    // Three bytes a character: the same report in non-ASCII text no longer fits, and the agent learns it.
    const wide = { ...max, checks: max.checks.map((c) => ({ ...c, detail: '€'.repeat(200) })) };
    expect(failure(encodeHealthReport(wide))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      limit: HEALTH_REPORT_MAX_BYTES,
    });
  });
});

import { describe, expect, it } from 'vitest';
import {
  HEALTH_REPORT_MAX_BYTES,
  healthReportTopic,
  parseHealthReport,
  parseHealthReportTopic,
  telemetryTopicFilter,
  type HealthReport,
} from '@otafleet/protocol';

const report: HealthReport = {
  schemaVersion: 1,
  thingName: 'pi-0001',
  timestamp: 1_700_000_000_000,
  sequence: 7,
  agentVersion: '0.1.0',
  firmwareVersion: '1.1.0',
  activeSlot: 'B',
  status: 'healthy',
  uptimeSeconds: 42,
  checks: [{ name: 'app-http', status: 'healthy' }],
  ota: { jobId: 'job-1', phase: 'health-checking' },
};

describe('health report topics', () => {
  it('round-trips the topic and scopes telemetry under the thing', () => {
    expect(healthReportTopic('pi-0001')).toBe('dt/pi-0001/health');
    expect(parseHealthReportTopic(healthReportTopic('pi-0001'))).toEqual({ thingName: 'pi-0001' });
    expect(telemetryTopicFilter('pi-0001')).toBe('dt/pi-0001/#');
  });
  it.each(['dt/pi-0001/other', 'dt/pi/0001/health', '$aws/things/pi-0001/health', 'dt//health', 'dt/a b/health'])(
    'does not parse %s',
    (topic) => expect(parseHealthReportTopic(topic)).toBeUndefined(),
  );
});

describe('health report payload', () => {
  it('accepts a valid report', () => {
    expect(parseHealthReport(JSON.stringify(report), 'pi-0001')).toEqual({ ok: true, value: report });
  });
  it('rejects a report whose thing is not the topic thing', () => {
    const r = parseHealthReport(JSON.stringify(report), 'pi-0002');
    expect(r.ok ? undefined : r.error.code).toBe('INVALID_FIELDS');
    expect(r.ok ? '' : r.error.message).toContain('/thingName');
  });
  it.each([
    ['bad status', { ...report, status: 'fine' }, '/status'],
    ['bad slot', { ...report, activeSlot: 'C' }, '/activeSlot'],
    ['fractional uptime', { ...report, uptimeSeconds: 1.5 }, '/uptimeSeconds'],
    ['unknown OTA phase', { ...report, ota: { jobId: 'j', phase: 'dancing' } }, '/ota/phase'],
    [
      'too many checks',
      { ...report, checks: Array.from({ length: 33 }, (_, i) => ({ name: `c${i}`, status: 'healthy' })) },
      '/checks',
    ],
    ['missing sequence', { ...report, sequence: undefined }, '/sequence'],
  ])('rejects %s', (_n, body, path) => {
    const r = parseHealthReport(JSON.stringify(body), 'pi-0001');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain(path);
  });
  it('rejects oversized and non-JSON payloads before schema checks', () => {
    const big = parseHealthReport('x'.repeat(HEALTH_REPORT_MAX_BYTES + 1), 'pi-0001');
    expect(big.ok ? undefined : big.error.code).toBe('PAYLOAD_TOO_LARGE');
    const junk = parseHealthReport('not json', 'pi-0001');
    expect(junk.ok ? undefined : junk.error.code).toBe('INVALID_JSON');
  });
});

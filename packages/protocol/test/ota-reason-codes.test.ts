import { describe, expect, it } from 'vitest';
import {
  BUNDLE_ERROR_CODES,
  DEVICE_REQUESTABLE_STATUSES,
  OTA_REASON_CATEGORIES,
  OTA_REASON_CODES,
  OtaReasonCodeSchema,
  compileValidator,
  isOtaReasonCode,
  otaReasonInfo,
  type OtaReasonCode,
} from '@otafleet/protocol';

describe('OTA reason codes', () => {
  it('are unique and include every bundle error code', () => {
    expect(new Set(OTA_REASON_CODES).size).toBe(OTA_REASON_CODES.length);
    for (const code of BUNDLE_ERROR_CODES) expect(OTA_REASON_CODES).toContain(code);
  });

  it('the schema, the guard and the list agree', () => {
    const schema = compileValidator(OtaReasonCodeSchema);
    for (const code of OTA_REASON_CODES) {
      expect(schema.check(code)).toBe(true);
      expect(isOtaReasonCode(code)).toBe(true);
    }
    for (const other of ['', 'bundle_truncated', 'OK', 42, null]) {
      expect(schema.check(other)).toBe(false);
      expect(isOtaReasonCode(other)).toBe(false);
    }
  });

  it('every code has one consistent entry in the table', () => {
    for (const code of OTA_REASON_CODES) {
      const info = otaReasonInfo(code);
      expect(OTA_REASON_CATEGORIES).toContain(info.category);
      expect(info.description.length).toBeGreaterThan(0);
      // Only failures are retried; a success or a cancel is never a failure.
      if (info.retryable) expect(info.failure).toBe(true);
      expect(info.failure).toBe(info.executionStatus !== 'SUCCEEDED' && info.executionStatus !== 'CANCELED');
      // A device declines (REJECTED) only what it cannot do at all: never retried.
      if (info.executionStatus === 'REJECTED') expect(info.retryable).toBe(false);
      // What the agent reports itself must be a status a device may request.
      if (info.executionStatus !== 'CANCELED' && info.executionStatus !== 'TIMED_OUT') {
        expect(DEVICE_REQUESTABLE_STATUSES).toContain(info.executionStatus);
      }
    }
  });

  it.each<[OtaReasonCode, boolean, string]>([
    ['DOWNLOAD_FAILED', true, 'download'],
    ['DOWNLOAD_URL_EXPIRED', true, 'download'],
    ['DOWNLOAD_REFUSED', false, 'download'],
    ['BUNDLE_IO_ERROR', true, 'device'],
    ['BUNDLE_NOT_YET_VALID', true, 'verification'],
    ['BUNDLE_SIGNATURE_INVALID', false, 'verification'],
    ['BUNDLE_KEY_REVOKED', false, 'verification'],
    ['BUNDLE_PAYLOAD_DIGEST_MISMATCH', false, 'verification'],
    ['BUNDLE_HARDWARE_MISMATCH', false, 'compatibility'],
    ['BUNDLE_SECURITY_VERSION_ROLLBACK', false, 'compatibility'],
    ['HEALTH_CHECK_FAILED', false, 'health'],
    ['CRASH_LOOP', false, 'health'],
    ['BOOT_FAILED', false, 'health'],
    ['INVALID_JOB_DOCUMENT', false, 'job'],
    ['PRECONDITION_FAILED', false, 'job'],
    ['INSUFFICIENT_SPACE', false, 'device'],
    ['TIMED_OUT', true, 'device'],
    ['INTERNAL_ERROR', false, 'internal'],
  ])('%s: retryable %s, category %s', (code, retryable, category) => {
    expect(otaReasonInfo(code)).toMatchObject({ retryable, category });
  });

  it('an operator rollback that completed and a cancel are not failures', () => {
    expect(otaReasonInfo('ROLLED_BACK')).toMatchObject({
      failure: false,
      executionStatus: 'SUCCEEDED',
      category: 'operator',
    });
    expect(otaReasonInfo('CANCELED')).toMatchObject({
      failure: false,
      executionStatus: 'CANCELED',
      category: 'operator',
    });
  });

  it('jobs a device cannot take are REJECTED, failures of an attempt FAILED', () => {
    expect(otaReasonInfo('UNSUPPORTED_OPERATION').executionStatus).toBe('REJECTED');
    expect(otaReasonInfo('BUNDLE_AGENT_TOO_OLD').executionStatus).toBe('REJECTED');
    expect(otaReasonInfo('ROLLBACK_UNAVAILABLE').executionStatus).toBe('REJECTED');
    expect(otaReasonInfo('HEALTH_CHECK_TIMEOUT').executionStatus).toBe('FAILED');
    expect(otaReasonInfo('BUNDLE_TRUNCATED').executionStatus).toBe('FAILED');
  });
});

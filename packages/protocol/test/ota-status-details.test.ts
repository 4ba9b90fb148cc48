import { describe, expect, it } from 'vitest';
import {
  MAX_STATUS_DETAIL_VALUE_LENGTH,
  MAX_STATUS_DETAILS,
  OTA_STATUS_DETAIL_KEYS,
  OTA_TEXT_MAX_LENGTH,
  StatusDetailsSchema,
  compileValidator,
  otaStatusDetails,
  parseOtaStatusDetails,
  parseUpdateJobExecutionRequest,
  type OtaStatusDetails,
} from '@otafleet/protocol';
import { expectInvalidAt, failure } from './ota-test-helpers.js';

const full = {
  phase: 'downloading',
  progress: 40,
  bytesDownloaded: 49_382,
  bytesTotal: 123_456,
  reasonCode: 'DOWNLOAD_FAILED',
  reason: 'connection reset by peer; resuming at byte 49382',
  fromVersion: '1.0.0',
  toVersion: '1.1.0',
  attempt: 2,
  slot: 'B',
} as const satisfies OtaStatusDetails;

const awsStatusDetails = compileValidator(StatusDetailsSchema);
/** No lone surrogate (in a `u` RegExp a proper pair is one code point, not Cs). */
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

describe('OTA statusDetails keys', () => {
  it("fit AWS's limits: at most 10 pairs, keys of [a-zA-Z0-9:_-]", () => {
    expect(OTA_STATUS_DETAIL_KEYS.length).toBeLessThanOrEqual(MAX_STATUS_DETAILS);
    expect(new Set(OTA_STATUS_DETAIL_KEYS).size).toBe(OTA_STATUS_DETAIL_KEYS.length);
    const all = Object.fromEntries(OTA_STATUS_DETAIL_KEYS.map((k) => [k, 'x']));
    expect(awsStatusDetails.check(all)).toBe(true);
  });

  it('a map with every key set is a valid UpdateJobExecution request', () => {
    const details = otaStatusDetails(full);
    expect(Object.keys(details)).toEqual([...OTA_STATUS_DETAIL_KEYS]);
    const request = parseUpdateJobExecutionRequest(JSON.stringify({ status: 'IN_PROGRESS', statusDetails: details }));
    expect(request.ok).toBe(true);
  });
});

describe('otaStatusDetails (the agent writes)', () => {
  it('round-trips through parseOtaStatusDetails', () => {
    const details = otaStatusDetails(full);
    expect(details).toEqual({
      phase: 'downloading',
      progress: '40',
      bytesDownloaded: '49382',
      bytesTotal: '123456',
      reasonCode: 'DOWNLOAD_FAILED',
      reason: full.reason,
      fromVersion: '1.0.0',
      toVersion: '1.1.0',
      attempt: '2',
      slot: 'B',
    });
    expect(parseOtaStatusDetails(details)).toEqual({ ok: true, value: full });
    expect(otaStatusDetails({ phase: 'queued' })).toEqual({ phase: 'queued' });
  });

  it('floors and clamps progress, which is derived from byte counts', () => {
    expect(otaStatusDetails({ phase: 'downloading', progress: 99.9 }).progress).toBe('99');
    expect(otaStatusDetails({ phase: 'downloading', progress: 140 }).progress).toBe('100');
    expect(otaStatusDetails({ phase: 'downloading', progress: -3 }).progress).toBe('0');
  });

  it('cuts a long reason to the OTA text limit with an ellipsis, never inside a surrogate pair', () => {
    const long = otaStatusDetails({ phase: 'failed', reason: 'e'.repeat(5000) }).reason ?? '';
    expect(long).toHaveLength(OTA_TEXT_MAX_LENGTH);
    expect(long.endsWith('…')).toBe(true);
    expect(OTA_TEXT_MAX_LENGTH).toBeLessThanOrEqual(MAX_STATUS_DETAIL_VALUE_LENGTH);
    // A pair straddling the cut is dropped whole, not split into a lone surrogate AWS would refuse.
    const emoji = '😀';
    const straddling = `${'a'.repeat(OTA_TEXT_MAX_LENGTH - 2)}${emoji.repeat(10)}`;
    const cut = otaStatusDetails({ phase: 'failed', reason: straddling }).reason ?? '';
    expect(cut).toBe(`${'a'.repeat(OTA_TEXT_MAX_LENGTH - 2)}…`);
    expect(wellFormed(cut) && !wellFormed('a\ud800')).toBe(true);
    const pairsOnly = otaStatusDetails({ phase: 'failed', reason: emoji.repeat(400) }).reason ?? '';
    expect(wellFormed(pairsOnly)).toBe(true);
    expect(pairsOnly.length).toBeLessThanOrEqual(OTA_TEXT_MAX_LENGTH);
  });

  it('turns control characters and lone surrogates into spaces, and drops a reason with nothing left', () => {
    const details = otaStatusDetails({ phase: 'failed', reason: 'line one\nline two\t\u0000end \ud800!' });
    expect(details.reason).toBe('line one line two end  !');
    expect(otaStatusDetails({ phase: 'failed', reason: '\n\t ' })).toEqual({ phase: 'failed' });
  });

  it.each([
    ['bytesDownloaded', -1],
    ['bytesTotal', 1.5],
    ['attempt', 0],
    ['bytesDownloaded', Number.NaN],
    ['fromVersion', '1.0'],
    ['slot', 'C'],
  ] as const)('throws a RangeError for %s = %s (a programming error)', (key, value) => {
    expect(() => otaStatusDetails({ phase: 'downloading', [key]: value } as never)).toThrow(RangeError);
  });

  it('throws when more bytes are downloaded than there are', () => {
    expect(() => otaStatusDetails({ phase: 'downloading', bytesDownloaded: 2, bytesTotal: 1 })).toThrow(/bytesTotal/);
  });
});

describe('parseOtaStatusDetails (the fleet service reads)', () => {
  const wire = otaStatusDetails(full);

  it('tolerates missing keys and ignores keys it does not own', () => {
    expect(parseOtaStatusDetails({})).toEqual({ ok: true, value: {} });
    expect(parseOtaStatusDetails({ reasonCode: 'CRASH_LOOP', 'console:note': 'by hand' })).toEqual({
      ok: true,
      value: { reasonCode: 'CRASH_LOOP' },
    });
  });

  it.each([
    ['phase', 'dancing'],
    ['progress', '101'],
    ['progress', '4.5'],
    ['progress', '07'],
    ['bytesDownloaded', '-1'],
    ['bytesTotal', '1e6'],
    ['bytesTotal', '1234567890123456'],
    ['reasonCode', 'OOPS'],
    ['reason', 'x'.repeat(OTA_TEXT_MAX_LENGTH + 1)],
    ['fromVersion', 'v1.0.0'],
    ['toVersion', '1'],
    ['attempt', '0'],
    ['slot', 'a'],
  ])('refuses %s = %j at its path', (key, value) => {
    expectInvalidAt(parseOtaStatusDetails({ ...wire, [key]: value }), `/${key}`);
  });

  it('refuses more bytes downloaded than the total', () => {
    expectInvalidAt(parseOtaStatusDetails({ bytesDownloaded: '5', bytesTotal: '4' }), '/bytesDownloaded');
  });

  it("applies AWS's own statusDetails limits first (shared with the Jobs payloads, not restated)", () => {
    const eleven = { ...wire, extra: 'x' };
    expect(Object.keys(eleven)).toHaveLength(MAX_STATUS_DETAILS + 1);
    expect(failure(parseOtaStatusDetails(eleven)).code).toBe('INVALID_FIELDS');
    expectInvalidAt(parseOtaStatusDetails({ note: 'x'.repeat(MAX_STATUS_DETAIL_VALUE_LENGTH + 1) }), '/note');
    expect(failure(parseOtaStatusDetails({ 'bad key': 'x' })).code).toBe('INVALID_FIELDS');
    expect(failure(parseOtaStatusDetails({ phase: 3 })).code).toBe('INVALID_FIELDS');
    expect(failure(parseOtaStatusDetails('phase=queued')).code).toBe('INVALID_FIELDS');
  });
});

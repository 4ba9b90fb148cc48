import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHADOW_LIMITS,
  OTA_CONFIG_SHADOW_NAME,
  OTA_SHADOW_BUDGETS,
  applyShadowUpdate,
  checkOtaShadowSize,
  checkShadowName,
  jsonDepth,
  parseConfigDesired,
  parseConfigReported,
  parseReportedState,
  shadowReplacement,
  type ConfigDesired,
  type ConfigReported,
  type ReportedState,
  type StoredShadow,
} from '@otafleet/protocol';
import { expectInvalidAt, failure, withField } from './ota-test-helpers.js';

const reported: ReportedState = {
  schemaVersion: 1,
  firmwareVersion: '1.1.0',
  agentVersion: '0.2.0',
  hardwareType: 'rpi4',
  activeSlot: 'B',
  slots: {
    A: { name: 'http-service', version: '1.0.0', securityVersion: 1 },
    B: { name: 'http-service', version: '1.1.0', securityVersion: 2 },
  },
  rollbackCount: 0,
  bootId: '6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b',
  bootCount: 12,
  lastUpdate: {
    jobId: 'rollout-7-wave-2',
    operation: 'ota.install',
    component: 'application',
    result: 'succeeded',
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    at: 1_767_225_000_000,
  },
};

const desired: ConfigDesired = {
  version: 4,
  settings: { 'http.port': 8080, greeting: 'hello', 'cache.enabled': true, ratio_max: 0.75 },
  featureFlags: { newCheckout: false, 'beta.metrics': true },
  agent: { healthReportIntervalSeconds: 60, logLevel: 'info' },
};
const applied: ConfigReported = { version: 4, status: 'applied', appliedVersion: 4 };
const rejected: ConfigReported = {
  version: 5,
  status: 'rejected',
  appliedVersion: 4,
  error: 'http.port must be below 65536',
};

/** Every string and number at its schema maximum, in ASCII. */
const v = `1.0.0-${'a'.repeat(122)}`;
const slot = { name: `n${'x'.repeat(63)}`, version: v, securityVersion: 2_147_483_647 };
const maxReported: ReportedState = {
  schemaVersion: 1,
  firmwareVersion: v,
  agentVersion: v,
  hardwareType: `h${'x'.repeat(63)}`,
  activeSlot: 'A',
  slots: { A: slot, B: slot },
  rollbackCount: Number.MAX_SAFE_INTEGER,
  bootId: '6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b',
  bootCount: Number.MAX_SAFE_INTEGER,
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
};

describe('reported state (classic shadow)', () => {
  it('round-trips as a decoded section and as bytes', () => {
    expect(parseReportedState(reported)).toEqual({ ok: true, value: reported });
    expect(parseReportedState(JSON.stringify(reported))).toEqual({ ok: true, value: reported });
    const fresh = withField(withField(reported, '/slots/A', undefined), '/lastUpdate', undefined);
    expect(parseReportedState(fresh)).toEqual({ ok: true, value: fresh });
  });

  const cases: [string, unknown, string?][] = [
    ['/schemaVersion', 2],
    ['/firmwareVersion', '1.1', '/firmwareVersion'],
    ['/firmwareVersion', '1.0.0'],
    ['/agentVersion', undefined],
    ['/hardwareType', ''],
    ['/activeSlot', 'C'],
    ['/activeSlot', 'A', '/firmwareVersion'],
    ['/slots', undefined],
    ['/slots/B', undefined],
    ['/slots/C', reported.slots.A],
    ['/slots/A/name', 'bad name'],
    ['/slots/A/version', 'one'],
    ['/slots/A/securityVersion', -1],
    ['/slots/A/extra', 1],
    ['/rollbackCount', -1],
    ['/bootId', 'nope'],
    ['/bootCount', 0],
    ['/lastUpdate/result', 'failed', '/lastUpdate/reasonCode'],
    ['/lastUpdate/at', undefined],
    ['/config', { appliedVersion: 1 }],
  ];
  it.each(cases)('refuses %s = %j at its path', (pointer, value, path) => {
    expectInvalidAt(parseReportedState(withField(reported, pointer, value)), path ?? pointer);
  });

  it('a reported state at every limit fits its budget, even in 3-byte characters, at a legal depth', () => {
    expect(parseReportedState(maxReported).ok).toBe(true);
    const size = checkOtaShadowSize('reported-state', maxReported);
    expect(size).toMatchObject({ ok: true, limit: OTA_SHADOW_BUDGETS['reported-state'] });
    // The worst case: 3 bytes for each reason character, 6 (`\u0001`) for each of the opaque ids'.
    const wide = withField(
      withField(
        withField(maxReported, '/lastUpdate/reason', '€'.repeat(512)),
        '/lastUpdate/rolloutId',
        '\u0001'.repeat(64),
      ),
      '/lastUpdate/waveId',
      '\u0001'.repeat(64),
    );
    expect(parseReportedState(wide).ok).toBe(true);
    expect(checkOtaShadowSize('reported-state', wide).ok).toBe(true);
    expect(jsonDepth({ reported: maxReported })).toBeLessThanOrEqual(DEFAULT_SHADOW_LIMITS.maxDepth);
  });
});

describe('config shadow (named shadow)', () => {
  it('has a valid shadow name', () => {
    expect(checkShadowName(OTA_CONFIG_SHADOW_NAME)).toBeUndefined();
  });

  it('round-trips desired and both kinds of answer', () => {
    expect(parseConfigDesired(desired)).toEqual({ ok: true, value: desired });
    expect(parseConfigDesired(JSON.stringify(desired))).toEqual({ ok: true, value: desired });
    const bare = { version: 1, settings: {}, featureFlags: {} };
    expect(parseConfigDesired(bare)).toEqual({ ok: true, value: bare });
    expect(parseConfigReported(applied)).toEqual({ ok: true, value: applied });
    expect(parseConfigReported(rejected)).toEqual({ ok: true, value: rejected });
    expect(parseConfigReported({ version: 1, status: 'rejected', appliedVersion: 0, error: 'no' }).ok).toBe(true);
  });

  const desiredCases: [string, unknown, string?][] = [
    ['/version', 0],
    ['/version', '4'],
    ['/settings', undefined],
    ['/settings/http.port', null],
    ['/settings/greeting', { nested: true }],
    ['/settings/greeting', ['a']],
    ['/settings/greeting', 'g'.repeat(1025)],
    ['/settings/9lives', 1],
    ['/settings/has space', 1],
    ['/settings', Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, i]))],
    ['/featureFlags', undefined],
    ['/featureFlags/newCheckout', 'yes'],
    ['/featureFlags/-x', true],
    ['/agent/healthReportIntervalSeconds', 5],
    ['/agent/logLevel', 'verbose'],
    ['/agent/extra', 1],
    ['/extra', 1],
  ];
  it.each(desiredCases)('desired: refuses %s = %j at its path', (pointer, value, path) => {
    expectInvalidAt(parseConfigDesired(withField(desired, pointer, value)), path ?? pointer);
  });

  const reportedCases: [ConfigReported, string, unknown, string?][] = [
    [applied, '/version', 0],
    [applied, '/status', 'pending'],
    [applied, '/appliedVersion', -1],
    [applied, '/appliedVersion', 3],
    [applied, '/error', 'but it applied'],
    [applied, '/extra', 1],
    [rejected, '/error', undefined],
    [rejected, '/error', ''],
    [rejected, '/error', 'e'.repeat(513)],
    [rejected, '/appliedVersion', 5],
  ];
  it.each(reportedCases)('reported (%j): refuses %s = %j at its path', (base, pointer, value, path) => {
    expectInvalidAt(parseConfigReported(withField(base, pointer, value)), path ?? pointer);
  });

  it('holds desired to its byte budget, and reports bytes and limit', () => {
    const big = {
      ...desired,
      settings: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, 'v'.repeat(60)])),
    };
    const size = checkOtaShadowSize('config-desired', big);
    expect(size.ok).toBe(false);
    expect(size.limit).toBe(OTA_SHADOW_BUDGETS['config-desired']);
    expect(size.bytes).toBe(Buffer.byteLength(JSON.stringify(big)));
    expect(failure(parseConfigDesired(big))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      bytes: size.bytes,
      limit: size.limit,
    });
    expect(failure(parseConfigDesired(JSON.stringify(big))).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('any answer the schema allows fits its budget, even in 3-byte characters', () => {
    const widest = {
      version: Number.MAX_SAFE_INTEGER,
      status: 'rejected',
      appliedVersion: Number.MAX_SAFE_INTEGER - 1,
      error: '€'.repeat(512),
    };
    expect(parseConfigReported(widest).ok).toBe(true);
    expect(checkOtaShadowSize('config-reported', widest).ok).toBe(true);
  });
});

describe('shadow budgets', () => {
  it("each shadow's sections add up to AWS's 8 KB state limit at most", () => {
    expect(OTA_SHADOW_BUDGETS['config-desired'] + OTA_SHADOW_BUDGETS['config-reported']).toBeLessThanOrEqual(
      DEFAULT_SHADOW_LIMITS.maxStateBytes,
    );
    expect(OTA_SHADOW_BUDGETS['reported-state']).toBeLessThan(DEFAULT_SHADOW_LIMITS.maxStateBytes);
  });

  it('a full config shadow at both budgets is accepted by the shadow service', () => {
    // Grow desired one setting at a time until the next one would not fit its budget.
    const settings: Record<string, string> = {};
    for (
      let i = 0;
      checkOtaShadowSize('config-desired', { ...desired, settings: { ...settings, [`k${i}`]: 'v'.repeat(100) } }).ok;
      i++
    ) {
      settings[`k${i}`] = 'v'.repeat(100);
    }
    const full = checkOtaShadowSize('config-desired', { ...desired, settings });
    expect(full.bytes).toBeGreaterThan(full.limit - 120);
    const fullDesired = { ...desired, settings };
    expect(parseConfigDesired(fullDesired).ok).toBe(true);
    const widest = { version: 4, status: 'rejected', appliedVersion: 3, error: '€'.repeat(512) };
    const request = { state: { desired: fullDesired, reported: widest } };
    const outcome = applyShadowUpdate(undefined, request, 1_767_225_600, DEFAULT_SHADOW_LIMITS);
    expect(outcome.ok).toBe(true);
  });
});

describe('shadowReplacement', () => {
  const store = (reportedSection: Record<string, unknown>): StoredShadow => {
    const r = applyShadowUpdate(undefined, { state: { reported: reportedSection } }, 1, DEFAULT_SHADOW_LIMITS);
    if (!r.ok) throw new Error(r.error.message);
    return r.value.shadow;
  };
  const update = (stored: StoredShadow, section: Record<string, unknown>) => {
    const r = applyShadowUpdate(stored, { state: { reported: section } }, 2, DEFAULT_SHADOW_LIMITS);
    if (!r.ok) throw new Error(r.error.message);
    return r.value.shadow.state.reported;
  };

  it('makes the stored section equal to the new one under AWS merge semantics', () => {
    const before = {
      ...reported,
      lastUpdate: { ...reported.lastUpdate, result: 'failed', reasonCode: 'CRASH_LOOP', reason: 'exit 1' },
    };
    const after = withField(withField(reported, '/slots/A', undefined), '/lastUpdate', {
      ...reported.lastUpdate,
      jobId: 'j2',
    }) as ReportedState;
    const stored = store(before);
    // Sent as is, the merge keeps the old reason, reasonCode and slot A.
    const merged = update(stored, after);
    expect(merged).not.toEqual(after);
    expect((merged?.lastUpdate as Record<string, unknown>).reason).toBe('exit 1');
    // The replacement nulls exactly what went away.
    const replacement = shadowReplacement(before, after);
    expect(replacement.slots).toEqual({ A: null, B: after.slots.B });
    expect(update(stored, replacement)).toEqual(after);
    expect(parseReportedState(update(stored, replacement)).ok).toBe(true);
  });

  it('with no previous section it is the section itself', () => {
    expect(shadowReplacement(undefined, { a: 1, b: { c: 2 } })).toEqual({ a: 1, b: { c: 2 } });
  });

  it('replaces arrays and scalars whole, and objects that were scalars', () => {
    expect(shadowReplacement({ a: [1, 2], b: 1, c: { d: 1 } }, { a: [3], b: { e: 1 }, c: 2 })).toEqual({
      a: [3],
      b: { e: 1 },
      c: 2,
    });
  });
});

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHADOW_LIMITS,
  DELETED_SHADOW_VERSION_RETENTION_SECONDS,
  applyShadowUpdate,
  computeShadowDelta,
  deleteShadowDocument,
  getShadowDocument,
  parseShadowUpdateRequest,
  shadowValidators,
  type ShadowUpdateOutcome,
  type StoredShadow,
} from '@otafleet/protocol';

const L = DEFAULT_SHADOW_LIMITS;
const T = 1_700_000_000;

/** Parses and applies one update, failing the test on any rejection. */
function update(current: StoredShadow | undefined, body: unknown, ts = T): ShadowUpdateOutcome {
  const req = parseShadowUpdateRequest(JSON.stringify(body), L);
  if (!req.ok) throw new Error(`rejected: ${JSON.stringify(req.error)}`);
  const out = applyShadowUpdate(current, req.value, ts, L);
  if (!out.ok) throw new Error(`rejected: ${JSON.stringify(out.error)}`);
  return out.value;
}

describe('AWS "Device Shadow service documents" examples', () => {
  // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html#delta-state
  it('delta: keys in desired not matching reported, keys only in reported excluded', () => {
    const s1 = update(undefined, { state: { reported: { color: 'GREEN', engine: 'ON' } } });
    const s2 = update(s1.shadow, { state: { desired: { color: 'RED', state: 'STOP' } } }, T + 1);
    expect(s2.delta?.state).toEqual({ color: 'RED', state: 'STOP' });
    expect(s2.delta?.metadata).toEqual({ color: { timestamp: T + 1 }, state: { timestamp: T + 1 } });
    const got = getShadowDocument(s2.shadow, { thingName: 't' }, undefined, T + 2);
    expect(got).toEqual({
      ok: true,
      value: {
        state: {
          desired: { color: 'RED', state: 'STOP' },
          reported: { color: 'GREEN', engine: 'ON' },
          delta: { color: 'RED', state: 'STOP' },
        },
        metadata: {
          desired: { color: { timestamp: T + 1 }, state: { timestamp: T + 1 } },
          reported: { color: { timestamp: T }, engine: { timestamp: T } },
        },
        version: 2,
        timestamp: T + 2,
      },
    });
    expect(got.ok && shadowValidators.getAccepted.check(got.value)).toBe(true);
  });

  it('delta: nested objects carry the path to the root', () => {
    const s1 = update(undefined, { state: { reported: { lights: { color: { r: 255, g: 0, b: 255 } } } } });
    const s2 = update(s1.shadow, { state: { desired: { lights: { color: { r: 255, g: 255, b: 255 } } } } });
    expect(s2.delta?.state).toEqual({ lights: { color: { g: 255 } } });
    expect(s2.delta?.metadata).toEqual({ lights: { color: { g: { timestamp: T } } } });
  });

  it('delta: arrays are values, copied whole when they differ', () => {
    expect(computeShadowDelta({ colors: ['RED', 'GREEN'] }, { colors: ['RED'] })).toEqual({
      colors: ['RED', 'GREEN'],
    });
    expect(computeShadowDelta({ colors: ['RED'] }, { colors: ['RED'] })).toEqual({});
  });

  it('arrays: an update replaces the whole array', () => {
    const s1 = update(undefined, { state: { desired: { colors: ['RED', 'GREEN', 'BLUE'] } } });
    expect(s1.shadow.metadata.desired).toEqual({
      colors: [{ timestamp: T }, { timestamp: T }, { timestamp: T }],
    });
    const s2 = update(s1.shadow, { state: { desired: { colors: ['RED'] } } }, T + 5);
    expect(s2.shadow.state).toEqual({ desired: { colors: ['RED'] } });
    expect(s2.shadow.metadata.desired).toEqual({ colors: [{ timestamp: T + 5 }] });
  });

  it('arrays: null elements are rejected', () => {
    const r = parseShadowUpdateRequest(JSON.stringify({ state: { desired: { colors: [null, 'RED', 'GREEN'] } } }), L);
    expect(r).toEqual({ ok: false, error: { code: 400, message: 'State contains an invalid node' } });
  });

  it('"desired": null removes the section; reported stays', () => {
    const s1 = update(undefined, { state: { desired: { color: 'red' }, reported: { color: 'blue' } } });
    const s2 = update(s1.shadow, { state: { reported: { color: 'red' }, desired: null } });
    expect(s2.shadow.state).toEqual({ reported: { color: 'red' } });
    expect(s2.shadow.metadata).toEqual({ reported: { color: { timestamp: T } } });
    expect(s2.accepted.state).toEqual({ reported: { color: 'red' }, desired: null });
    expect(s2.delta).toBeUndefined();
  });

  it('an empty shadow document is valid', () => {
    const s1 = update(undefined, { state: {} });
    expect(s1.shadow).toEqual({ state: {}, metadata: {}, version: 1, deleted: false });
    expect(getShadowDocument(s1.shadow, { thingName: 't' }, undefined, T)).toMatchObject({
      ok: true,
      value: { state: {}, metadata: {}, version: 1 },
    });
  });
});

describe('update algebra', () => {
  it('update/accepted echoes only the fields sent, with per-leaf metadata, version and clientToken', () => {
    const s1 = update(undefined, { state: { desired: { a: 1, b: { c: 2 } }, reported: { a: 0 } } });
    const s2 = update(s1.shadow, { state: { desired: { b: { d: [1, 2] }, a: null } }, clientToken: 'tok', version: 1 });
    expect(s2.accepted).toEqual({
      state: { desired: { b: { d: [1, 2] }, a: null } },
      metadata: { desired: { b: { d: [{ timestamp: T }, { timestamp: T }] }, a: { timestamp: T } } },
      version: 2,
      timestamp: T,
      clientToken: 'tok',
    });
    expect(shadowValidators.updateAccepted.check(s2.accepted)).toBe(true);
    expect(s2.shadow.state).toEqual({ desired: { b: { c: 2, d: [1, 2] } }, reported: { a: 0 } });
  });

  it('nested objects merge, null deletes a nested key, metadata keeps older stamps', () => {
    const s1 = update(undefined, { state: { reported: { net: { ip: '1.2.3.4', rssi: -50 }, fw: '1.0' } } });
    const s2 = update(s1.shadow, { state: { reported: { net: { rssi: null, ssid: 'x' } } } }, T + 9);
    expect(s2.shadow.state.reported).toEqual({ net: { ip: '1.2.3.4', ssid: 'x' }, fw: '1.0' });
    expect(s2.shadow.metadata.reported).toEqual({
      net: { ip: { timestamp: T }, ssid: { timestamp: T + 9 } },
      fw: { timestamp: T },
    });
  });

  it('an object replaces a scalar and a scalar replaces an object', () => {
    const s1 = update(undefined, { state: { desired: { x: 1, y: { z: 1 } } } });
    const s2 = update(s1.shadow, { state: { desired: { x: { n: 1 }, y: 3 } } });
    expect(s2.shadow.state.desired).toEqual({ x: { n: 1 }, y: 3 });
    expect(s2.shadow.metadata.desired).toEqual({ x: { n: { timestamp: T } }, y: { timestamp: T } });
  });

  it('"state": null clears the state and keeps the shadow with version +1', () => {
    const s1 = update(undefined, { state: { desired: { a: 1 }, reported: { a: 2 } } });
    const s2 = update(s1.shadow, { state: null });
    expect(s2.shadow).toEqual({ state: {}, metadata: {}, version: 2, deleted: false });
    expect(s2.delta).toBeUndefined();
    expect(s2.documents.previous?.state).toEqual({ desired: { a: 1 }, reported: { a: 2 } });
    expect(getShadowDocument(s2.shadow, { thingName: 't' }, undefined, T).ok).toBe(true);
  });

  it('removing the last key leaves no empty section', () => {
    const s1 = update(undefined, { state: { desired: { a: 1 } } });
    const s2 = update(s1.shadow, { state: { desired: { a: null } } });
    expect(s2.shadow.state).toEqual({});
  });

  it('version increments by one per accepted update; a stale version is a 409 that changes nothing', () => {
    let s = update(undefined, { state: { reported: { n: 0 } } });
    for (let i = 1; i <= 5; i++) s = update(s.shadow, { state: { reported: { n: i } }, version: i });
    expect(s.shadow.version).toBe(6);
    const req = parseShadowUpdateRequest(
      JSON.stringify({ state: { reported: { n: 99 } }, version: 3, clientToken: 'c' }),
      L,
    );
    expect(req.ok).toBe(true);
    if (!req.ok) return;
    const before = structuredClone(s.shadow);
    expect(applyShadowUpdate(s.shadow, req.value, T, L)).toEqual({
      ok: false,
      error: { code: 409, message: 'Version conflict', clientToken: 'c' },
    });
    expect(s.shadow).toEqual(before);
  });

  it('a new shadow accepts version 0 only', () => {
    const v0 = parseShadowUpdateRequest('{"state":{},"version":0}', L);
    const v1 = parseShadowUpdateRequest('{"state":{},"version":1}', L);
    expect(v0.ok && applyShadowUpdate(undefined, v0.value, T, L).ok).toBe(true);
    expect(v1.ok && applyShadowUpdate(undefined, v1.value, T, L)).toEqual({
      ok: false,
      error: { code: 409, message: 'Version conflict' },
    });
  });

  it('/documents carries previous and current; a first update has no previous', () => {
    const s1 = update(undefined, { state: { reported: { a: 1 } }, clientToken: 'k' });
    expect(s1.documents).toEqual({
      current: { state: { reported: { a: 1 } }, metadata: { reported: { a: { timestamp: T } } }, version: 1 },
      timestamp: T,
      clientToken: 'k',
    });
    const s2 = update(s1.shadow, { state: { desired: { a: 2 } } }, T + 1);
    expect(s2.documents.previous).toEqual(s1.documents.current);
    expect(s2.documents.current.version).toBe(2);
    expect(shadowValidators.documents.check(s2.documents)).toBe(true);
    expect(s2.delta).toEqual({
      state: { a: 2 },
      metadata: { a: { timestamp: T + 1 } },
      version: 2,
      timestamp: T + 1,
    });
    expect(shadowValidators.delta.check(s2.delta)).toBe(true);
  });

  it('delta includes a desired key deleted from reported', () => {
    const s1 = update(undefined, { state: { desired: { a: 1 }, reported: { a: 1 } } });
    expect(s1.delta).toBeUndefined();
    const s2 = update(s1.shadow, { state: { reported: { a: null } } });
    expect(s2.delta?.state).toEqual({ a: 1 });
  });

  it('the 8 KB limit counts the merged desired+reported, not metadata', () => {
    const half = 'x'.repeat(4000);
    const s1 = update(undefined, { state: { desired: { a: half } } });
    const req = parseShadowUpdateRequest(JSON.stringify({ state: { reported: { b: half, c: 'y'.repeat(200) } } }), L);
    expect(req.ok).toBe(true);
    if (!req.ok) return;
    expect(applyShadowUpdate(s1.shadow, req.value, T, L)).toEqual({
      ok: false,
      error: { code: 413, message: 'The payload exceeds the maximum size allowed' },
    });
    // Just under the limit passes although metadata makes the document bigger than 8 KB.
    const many: Record<string, number> = {};
    for (let i = 0; i < 700; i++) many[`k${i}`] = i;
    const s2 = update(undefined, { state: { reported: many } });
    expect(JSON.stringify(s2.shadow.state).length).toBeLessThan(8192);
    expect(JSON.stringify(s2.shadow).length).toBeGreaterThan(8192);
  });

  it('8192 bytes of state is accepted, 8193 is 413', () => {
    // {"a":"…"} is 8 bytes plus the string.
    expect(update(undefined, { state: { desired: { a: 'x'.repeat(8184) } } }).shadow.version).toBe(1);
    const req = parseShadowUpdateRequest(JSON.stringify({ state: { desired: { a: 'x'.repeat(8185) } } }), L);
    expect(req.ok && applyShadowUpdate(undefined, req.value, T, L)).toEqual({
      ok: false,
      error: { code: 413, message: 'The payload exceeds the maximum size allowed' },
    });
  });

  it('the limit is exact with both sections and multi-byte characters (bytes, not UTF-16 units)', () => {
    // {"a":"…"} is 8 bytes plus the string; "é" is 2 bytes in UTF-8.
    const s1 = update(undefined, { state: { desired: { a: 'é'.repeat(2000) } } }); // 4008 bytes
    const fits = update(s1.shadow, { state: { reported: { a: 'x'.repeat(8192 - 4008 - 8) } } });
    expect(fits.shadow.version).toBe(2);
    expect(fits.stateJson).toBe(JSON.stringify(fits.shadow.state));
    const req = parseShadowUpdateRequest(
      JSON.stringify({ state: { reported: { a: 'x'.repeat(8192 - 4008 - 7) } } }),
      L,
    );
    expect(req.ok && applyShadowUpdate(s1.shadow, req.value, T, L)).toEqual({
      ok: false,
      error: { code: 413, message: 'The payload exceeds the maximum size allowed' },
    });
  });

  it('keys like __proto__ are stored as data, never as prototypes', () => {
    const s1 = update(undefined, JSON.parse('{"state":{"desired":{"__proto__":{"polluted":1}}}}'));
    expect(Object.keys(s1.shadow.state.desired ?? {})).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(s1.shadow.state)).toBe('{"desired":{"__proto__":{"polluted":1}}}');
  });
});

describe('get and delete', () => {
  it('get of a missing shadow is 404 with AWS wording, classic and named', () => {
    expect(getShadowDocument(undefined, { thingName: 'th' }, 'c1', T)).toEqual({
      ok: false,
      error: { code: 404, message: "No shadow exists with name: 'th'", clientToken: 'c1' },
    });
    expect(getShadowDocument(undefined, { thingName: 'th', shadowName: 'cfg' }, undefined, T)).toEqual({
      ok: false,
      error: { code: 404, message: "No shadow exists with name: 'th~cfg'" },
    });
  });

  it('delete keeps the version; re-creation continues from it; deleting twice is 404', () => {
    let s = update(undefined, { state: { reported: { a: 1 } } });
    s = update(s.shadow, { state: { reported: { a: 2 } } });
    const del = deleteShadowDocument(s.shadow, { thingName: 't' }, 'd', T);
    expect(del.ok && del.value.accepted).toEqual({ version: 2, timestamp: T, clientToken: 'd' });
    if (!del.ok) return;
    expect(shadowValidators.deleteAccepted.check(del.value.accepted)).toBe(true);
    expect(getShadowDocument(del.value.shadow, { thingName: 't' }, undefined, T).ok).toBe(false);
    expect(deleteShadowDocument(del.value.shadow, { thingName: 't' }, undefined, T)).toEqual({
      ok: false,
      error: { code: 404, message: "No shadow exists with name: 't'" },
    });
    const again = update(del.value.shadow, { state: { desired: { b: 1 } } });
    expect(again.shadow.version).toBe(3);
    expect(again.shadow.state).toEqual({ desired: { b: 1 } });
    expect(again.documents.previous).toBeUndefined();
  });

  it('the version of a deleted shadow is remembered for 48 hours, then a new shadow starts from 0', () => {
    let s = update(undefined, { state: { reported: { a: 1 } } });
    s = update(s.shadow, { state: { reported: { a: 2 } } });
    const del = deleteShadowDocument(s.shadow, { thingName: 't' }, undefined, T);
    if (!del.ok) throw new Error('delete failed');
    expect(del.value.shadow).toEqual({ state: {}, metadata: {}, version: 2, deleted: true, deletedAt: T });
    const H48 = DELETED_SHADOW_VERSION_RETENTION_SECONDS;
    expect(H48).toBe(172_800);
    expect(update(del.value.shadow, { state: { reported: { a: 3 } } }, T + H48).shadow.version).toBe(3);
    const fresh = update(del.value.shadow, { state: { reported: { a: 3 } } }, T + H48 + 1);
    expect(fresh.shadow.version).toBe(1);
    expect(fresh.accepted.version).toBe(1);
    // The version check sees the fresh numbering too: version 0 is the expected one, 2 is a conflict.
    const body = (version: number) => {
      const req = parseShadowUpdateRequest(JSON.stringify({ state: { reported: { a: 4 } }, version }), L);
      if (!req.ok) throw new Error('bad request');
      return applyShadowUpdate(del.value.shadow, req.value, T + H48 + 1, L);
    };
    expect(body(0).ok).toBe(true);
    expect(body(2)).toEqual({ ok: false, error: { code: 409, message: 'Version conflict' } });
  });
});

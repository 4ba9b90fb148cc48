import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHADOW_LIMITS,
  parseShadowClientTokenRequest,
  parseShadowUpdateRequest,
  resolveShadowLimits,
  shadowErrorResponse,
  shadowValidators,
} from '@otafleet/protocol';

const L = DEFAULT_SHADOW_LIMITS;

const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { n: v };
  return v;
};

describe('parseShadowUpdateRequest rejections', () => {
  it.each<[string, string | Uint8Array, number, string]>([
    ['non-JSON', '{"state":', 400, 'Invalid JSON'],
    ['empty payload', '', 400, 'Invalid JSON'],
    ['JSON array', '[]', 400, 'Invalid JSON'],
    ['JSON number', '42', 400, 'Invalid JSON'],
    ['no state', '{"clientToken":"a"}', 400, 'Missing required node: state'],
    ['state is a string', '{"state":"on"}', 400, 'State node must be an object'],
    ['state is an array', '{"state":[1]}', 400, 'State node must be an object'],
    ['desired is a number', '{"state":{"desired":1}}', 400, 'Desired node must be an object'],
    ['desired is an array', '{"state":{"desired":[]}}', 400, 'Desired node must be an object'],
    ['reported is a string', '{"state":{"reported":"x"}}', 400, 'Reported node must be an object'],
    ['unknown state node', '{"state":{"delta":{"a":1}}}', 400, 'State contains an invalid node'],
    ['null in a nested array', '{"state":{"reported":{"a":{"b":[1,[null]]}}}}', 400, 'State contains an invalid node'],
    [
      'null in an object inside an array',
      '{"state":{"desired":{"a":[{"b":null}]}}}',
      400,
      'State contains an invalid node',
    ],
    [
      'null in an array of a section that is also too deep (the null is reported first)',
      '{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":[null]}}}}}}}}}',
      400,
      'State contains an invalid node',
    ],
    ['version is a string', '{"state":{},"version":"1"}', 400, 'Invalid version'],
    ['version is negative', '{"state":{},"version":-1}', 400, 'Invalid version'],
    ['version is fractional', '{"state":{},"version":1.5}', 400, 'Invalid version'],
    ['version is null', '{"state":{},"version":null}', 400, 'Invalid version'],
    ['clientToken is a number', '{"state":{},"clientToken":5}', 400, 'Invalid clientToken'],
    ['clientToken is empty', '{"state":{},"clientToken":""}', 400, 'Invalid clientToken'],
    ['clientToken over 64 bytes', `{"state":{},"clientToken":"${'é'.repeat(33)}"}`, 400, 'Invalid clientToken'],
    [
      'desired 7 levels deep',
      JSON.stringify({ state: { desired: nested(7) } }),
      400,
      'JSON contains too many levels of nesting; maximum is 6',
    ],
    [
      'non-UTF-8 bytes',
      Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      415,
      'Unsupported documented encoding; supported encoding is UTF-8',
    ],
    [
      'payload over the limit',
      JSON.stringify({ state: { reported: { a: 'x'.repeat(128 * 1024) } } }),
      413,
      'The payload exceeds the maximum size allowed',
    ],
  ])('%s → %i %s', (_name, payload, code, message) => {
    const r = parseShadowUpdateRequest(payload, L);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.message).toBe(message);
    expect(shadowValidators.errorResponse.check(shadowErrorResponse(r.error, 1))).toBe(true);
  });

  it('a rejection after the clientToken was read carries it', () => {
    expect(parseShadowUpdateRequest('{"clientToken":"ct","state":5}', L)).toEqual({
      ok: false,
      error: { code: 400, message: 'State node must be an object', clientToken: 'ct' },
    });
    expect(shadowErrorResponse({ code: 400, message: 'm', clientToken: 'ct' }, 7)).toEqual({
      code: 400,
      message: 'm',
      timestamp: 7,
      clientToken: 'ct',
    });
  });

  it('accepts the boundaries: depth 6, 64-byte token, fields outside state ignored', () => {
    const r = parseShadowUpdateRequest(
      JSON.stringify({ state: { reported: nested(6) }, clientToken: 't'.repeat(64), other: [null], version: 0 }),
      L,
    );
    expect(r).toEqual({
      ok: true,
      value: { state: { reported: nested(6) }, clientToken: 't'.repeat(64), version: 0 },
    });
    expect(r.ok && shadowValidators.updateRequest.check(r.value)).toBe(true);
  });

  it('depth and sizes are configurable', () => {
    const limits = resolveShadowLimits({ maxDepth: 2, maxPayloadBytes: 100, maxClientTokenBytes: 4 });
    expect(parseShadowUpdateRequest(JSON.stringify({ state: { desired: nested(3) } }), limits)).toEqual({
      ok: false,
      error: { code: 400, message: 'JSON contains too many levels of nesting; maximum is 2' },
    });
    expect(parseShadowUpdateRequest(JSON.stringify({ state: { desired: nested(2) } }), limits).ok).toBe(true);
    expect(parseShadowUpdateRequest(`{"state":{},"x":"${'a'.repeat(100)}"}`, limits)).toMatchObject({
      ok: false,
      error: { code: 413 },
    });
    expect(parseShadowUpdateRequest('{"state":{},"clientToken":"abcde"}', limits)).toMatchObject({
      ok: false,
      error: { code: 400, message: 'Invalid clientToken' },
    });
  });

  it('null nodes in objects are deletions, not errors', () => {
    expect(parseShadowUpdateRequest('{"state":{"desired":{"a":null,"b":{"c":null}},"reported":null}}', L)).toEqual({
      ok: true,
      value: { state: { desired: { a: null, b: { c: null } }, reported: null } },
    });
  });
});

describe('parseShadowClientTokenRequest (get/delete)', () => {
  it('accepts an empty payload, {} and a clientToken', () => {
    expect(parseShadowClientTokenRequest('', L)).toEqual({ ok: true, value: {} });
    expect(parseShadowClientTokenRequest(new Uint8Array(), L)).toEqual({ ok: true, value: {} });
    expect(parseShadowClientTokenRequest('{}', L)).toEqual({ ok: true, value: {} });
    expect(parseShadowClientTokenRequest('{"clientToken":"abc"}', L)).toEqual({
      ok: true,
      value: { clientToken: 'abc' },
    });
  });

  it.each<[string, string | Uint8Array, number, string]>([
    ['non-JSON', 'get', 400, 'Invalid JSON'],
    ['array', '["x"]', 400, 'Invalid JSON'],
    ['token not a string', '{"clientToken":[]}', 400, 'Invalid clientToken'],
    ['not UTF-8', Uint8Array.from([0xc3, 0x28]), 415, 'Unsupported documented encoding; supported encoding is UTF-8'],
    [
      'too large',
      `{"clientToken":"a","pad":"${'p'.repeat(128 * 1024)}"}`,
      413,
      'The payload exceeds the maximum size allowed',
    ],
  ])('%s → %i', (_name, payload, code, message) => {
    expect(parseShadowClientTokenRequest(payload, L)).toEqual({ ok: false, error: { code, message } });
  });

  it('a token too long is refused 400 and still echoed, as AWS answers with whatever token was sent', () => {
    const token = 'a'.repeat(65);
    expect(parseShadowClientTokenRequest(`{"clientToken":"${token}"}`, L)).toEqual({
      ok: false,
      error: { code: 400, message: 'Invalid clientToken', clientToken: token },
    });
    expect(parseShadowUpdateRequest(`{"state":{},"clientToken":"${token}"}`, L)).toEqual({
      ok: false,
      error: { code: 400, message: 'Invalid clientToken', clientToken: token },
    });
    // A token that is not text cannot be echoed as one.
    expect(parseShadowClientTokenRequest('{"clientToken":7}', L)).toEqual({
      ok: false,
      error: { code: 400, message: 'Invalid clientToken' },
    });
  });
});

describe('TypeBox validators reject wrong shapes', () => {
  it.each([
    ['updateRequest', { state: 1 }],
    ['updateRequest', { state: { desired: [] } }],
    ['updateRequest', { state: {}, version: -1 }],
    ['updateRequest', {}],
    ['clientTokenRequest', { clientToken: 5 }],
    ['updateAccepted', { state: {}, metadata: {}, version: 1 }],
    ['delta', { state: [], metadata: {}, version: 1, timestamp: 1 }],
    ['documents', { previous: {}, current: {}, timestamp: 1 }],
    ['getAccepted', { state: {}, metadata: {}, version: '1', timestamp: 1 }],
    ['deleteAccepted', { version: 1 }],
    ['errorResponse', { code: 200, message: 'x' }],
    ['errorResponse', { message: 'x' }],
    ['nameList', { results: [1], timestamp: 1 }],
  ] as const)('%s rejects %j', (name, value) => {
    const r = shadowValidators[name].validate(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
  });
});

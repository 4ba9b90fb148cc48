import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { compileValidator, describeIssues, jsonDepth, parseJsonPayload } from '@otafleet/protocol';

describe('parseJsonPayload', () => {
  it('parses strict UTF-8 JSON from bytes and strings', () => {
    expect(parseJsonPayload(Buffer.from('{"a":[1,"é"]}'), 100)).toEqual({ ok: true, value: { a: [1, 'é'] } });
    expect(parseJsonPayload('null', 100)).toEqual({ ok: true, value: null });
  });
  it('checks the size before decoding', () => {
    expect(parseJsonPayload(Buffer.from('{"a":1}'), 6)).toEqual({
      ok: false,
      error: { kind: 'too-large', size: 7, limit: 6 },
    });
    expect(parseJsonPayload('éé', 3)).toEqual({ ok: false, error: { kind: 'too-large', size: 4, limit: 3 } });
  });
  it('rejects invalid UTF-8 and invalid JSON with distinct kinds', () => {
    expect(parseJsonPayload(Buffer.from([0x22, 0xc3, 0x28, 0x22]), 100)).toEqual({
      ok: false,
      error: { kind: 'not-utf8' },
    });
    const r = parseJsonPayload('{a:1}', 100);
    expect(r.ok ? undefined : r.error.kind).toBe('invalid-json');
  });
});

describe('jsonDepth', () => {
  it.each([
    [1, 0],
    [{}, 1],
    [{ a: { b: 1 } }, 2],
    [[[[]]], 3],
    [{ a: [{ b: {} }] }, 4],
  ])('%j has depth %i', (value, depth) => expect(jsonDepth(value)).toBe(depth));
});

describe('compileValidator', () => {
  const v = compileValidator(Type.Object({ n: Type.Integer(), s: Type.String() }, { additionalProperties: false }));
  it('returns the value when valid and JSON-pointer issues when not', () => {
    expect(v.validate({ n: 1, s: 'x' })).toEqual({ ok: true, value: { n: 1, s: 'x' } });
    const r = v.validate({ n: 'one', s: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(describeIssues(r.error)).toContain('/n');
    expect(v.check({ n: 1 })).toBe(false);
  });
});

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkShadowName,
  checkThingName,
  isValidClientToken,
  isValidJobId,
  isValidThingName,
  JOB_ID,
  JOB_NAMESPACE_ID,
  MAX_CLIENT_TOKEN_BYTES,
  SERVICE_NAME,
  SHADOW_NAME,
  STATUS_DETAILS_KEY,
  THING_GROUP_NAME,
  THING_NAME,
  type IdentifierRule,
} from '@otafleet/protocol';

const cases: readonly { rule: IdentifierRule; max: number; colon: boolean }[] = [
  { rule: THING_NAME, max: 128, colon: true },
  { rule: THING_GROUP_NAME, max: 128, colon: true },
  { rule: SHADOW_NAME, max: 64, colon: true },
  { rule: STATUS_DETAILS_KEY, max: 128, colon: true },
  { rule: JOB_ID, max: 64, colon: false },
  { rule: JOB_NAMESPACE_ID, max: 64, colon: false },
  { rule: SERVICE_NAME, max: 64, colon: false },
];

describe('identifier rules (AWS patterns and lengths)', () => {
  for (const { rule, max, colon } of cases) {
    it(`${rule.name}: 1-${max} characters, edges included`, () => {
      expect(rule.minLength).toBe(1);
      expect(rule.maxLength).toBe(max);
      expect(rule.test('')).toBe(false);
      expect(rule.test('a')).toBe(true);
      expect(rule.test('a'.repeat(max))).toBe(true);
      expect(rule.test('a'.repeat(max + 1))).toBe(false);
      expect(rule.test('Az09_-')).toBe(true);
      expect(rule.test('a:b')).toBe(colon);
      for (const bad of ['a b', 'a.b', 'a/b', 'a#b', 'a+b', 'a$b', 'é', 'a\nb', 'a\u0000'])
        expect(rule.test(bad), JSON.stringify(bad)).toBe(false);
      // The schema form (characters only, lengths separate) agrees with the full pattern.
      expect(new RegExp(rule.charsPattern).test('a'.repeat(max + 1))).toBe(true);
      expect(new RegExp(rule.pattern).test('a'.repeat(max + 1))).toBe(false);
      expect(rule.description).toBe(`1-${max} characters of ${rule.chars}`);
    });
  }

  it('the shortcuts are the rules', () => {
    expect(isValidThingName('pi:0001')).toBe(true);
    expect(isValidThingName('t'.repeat(129))).toBe(false);
    expect(isValidJobId('job-1')).toBe(true);
    expect(isValidJobId('job:1')).toBe(false);
  });

  it('shadow topic checks say which part of the rule a name breaks', () => {
    expect(checkThingName('')).toEqual({ kind: 'empty' });
    expect(checkThingName('t'.repeat(128))).toBeUndefined();
    expect(checkThingName('t'.repeat(129))).toEqual({ kind: 'too-long', bytes: 129, limit: 128 });
    expect(checkShadowName('s'.repeat(64))).toBeUndefined();
    expect(checkShadowName('s'.repeat(65))).toEqual({ kind: 'too-long', bytes: 65, limit: 64 });
    expect(checkShadowName('a b')).toEqual({ kind: 'invalid-characters' });
  });

  it('clientToken: 1-64 bytes of UTF-8, multi-byte characters counted as bytes', () => {
    expect(MAX_CLIENT_TOKEN_BYTES).toBe(64);
    expect(isValidClientToken('')).toBe(false);
    expect(isValidClientToken('x')).toBe(true);
    expect(isValidClientToken('x'.repeat(64))).toBe(true);
    expect(isValidClientToken('x'.repeat(65))).toBe(false);
    expect(isValidClientToken('é'.repeat(32))).toBe(true); // 64 bytes
    expect(isValidClientToken('é'.repeat(33))).toBe(false); // 66 bytes in 33 characters
  });
});

describe('one copy of the identifier patterns', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return sources(path);
      return path.endsWith('.ts') ? [path] : [];
    });
  // The character classes as written in a pattern, in either order of the last characters.
  const copies = /a-zA-Z0-9(:_-|_:-|_-|-_)\]/;

  it('no source of iot-core or protocol writes a name pattern outside protocol/src/identifiers.ts', () => {
    const files = [...sources(join(root, 'iot-core/src')), ...sources(join(root, 'protocol/src'))];
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter(
      (f) => !f.endsWith(join('protocol', 'src', 'identifiers.ts')) && copies.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('the grep would find a copy (it reads identifiers.ts as a copy)', () => {
    expect(copies.test(readFileSync(join(root, 'protocol/src/identifiers.ts'), 'utf8'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { isValidVersionRange, VERSION_RANGE_MAX_LENGTH } from '@otafleet/protocol';

describe('version range syntax (the job document precondition)', () => {
  it.each([
    '1.0.0',
    '=1.0.0',
    '>1.0.0',
    '>=1.0.0',
    '<2.0.0',
    '<=2.0.0',
    '^1.2.3',
    '~1.2.3',
    '1.0.0-rc.1+build.5',
    '>=1.0.0 <2.0.0',
    '  >=1.0.0   <2.0.0  ',
    '1.0.0 || 1.1.0',
    '<1.0.0||>=2.0.0 <3.0.0',
  ])('accepts %j', (range) => expect(isValidVersionRange(range)).toBe(true));

  it.each([
    '',
    ' ',
    '1.0',
    'v1.0.0',
    '01.0.0',
    '1.x',
    '1.0.*',
    '*',
    '>= 1.0.0',
    '=>1.0.0',
    '1.0.0 - 2.0.0',
    '1.0.0 ||',
    '|| 1.0.0',
    '1.0.0 | 2.0.0',
    '>=1.0.0,<2.0.0',
    `>=1.0.0 ${'<2.0.0 '.repeat(50)}`,
  ])('refuses %j', (range) => expect(isValidVersionRange(range)).toBe(false));

  it('caps the length', () => {
    const alternatives = Array.from({ length: 100 }, (_, i) => `${i}.0.0`).join(' || ');
    expect(alternatives.length).toBeGreaterThan(VERSION_RANGE_MAX_LENGTH);
    expect(isValidVersionRange(alternatives)).toBe(false);
    expect(isValidVersionRange(alternatives.slice(0, alternatives.lastIndexOf(' || ', VERSION_RANGE_MAX_LENGTH)))).toBe(
      true,
    );
  });
});

/**
 * The bundle URL key survives restarts as it was: the file appears whole or not at all, and a key file that is not
 * a key (what a kill between creating and writing it used to leave: an empty file) is refused with a message naming
 * it, instead of becoming an empty key every URL is then signed and checked with.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleUrlKeyError, bundleUrlKeyText } from '../src/app/fleet-service.js';

const dirs: string[] = [];
const fresh = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-url-key-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bundleUrlKeyText', () => {
  it('creates one key on first use and returns the same one on every later start', () => {
    const dir = fresh();
    const key = bundleUrlKeyText(dir);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleUrlKeyText(dir)).toBe(key);
    expect(statSync(join(dir, 'bundle-url.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['bundle-url.key']); // nothing written aside is left behind
  });

  it('refuses an empty key file (a start killed mid-write) instead of signing with an empty key', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'bundle-url.key'), '');
    expect(() => bundleUrlKeyText(dir)).toThrow(BundleUrlKeyError);
    expect(() => bundleUrlKeyText(dir)).toThrow(/bundle-url\.key does not hold a bundle URL key/);
  });

  it('refuses a key file cut short, and changes nothing', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'bundle-url.key'), 'abc123\n');
    expect(() => bundleUrlKeyText(dir)).toThrow(BundleUrlKeyError);
    expect(readdirSync(dir)).toEqual(['bundle-url.key']);
  });
});

/** The boot pacer: at most `limit` boots in flight, the next one starts as one ends, in order. */
import { describe, expect, it } from 'vitest';
import { BootPacer } from '../src/fleet/boot-pacer.js';

describe('BootPacer', () => {
  it('grants at most limit slots; a release lets the longest-waiting boot in; a double release frees one', async () => {
    const pacer = new BootPacer(2);
    const granted: number[] = [];
    const releases = new Map<number, () => void>();
    for (let i = 0; i < 5; i++) {
      void pacer.acquire().then((release) => {
        granted.push(i);
        releases.set(i, release);
      });
    }
    await new Promise((r) => setImmediate(r));
    expect(granted).toEqual([0, 1]);
    expect([pacer.inFlight, pacer.waiting]).toEqual([2, 3]);
    releases.get(1)?.();
    releases.get(1)?.();
    await new Promise((r) => setImmediate(r));
    expect(granted).toEqual([0, 1, 2]);
    expect([pacer.inFlight, pacer.waiting]).toEqual([2, 2]);
    releases.get(0)?.();
    releases.get(2)?.();
    await new Promise((r) => setImmediate(r));
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    releases.get(3)?.();
    releases.get(4)?.();
    expect([pacer.inFlight, pacer.waiting]).toEqual([0, 0]);
  });

  it('refuses a limit that is not a whole number ≥ 1', () => {
    expect(() => new BootPacer(0)).toThrow('limit must be a whole number ≥ 1 (got 0)');
    expect(() => new BootPacer(1.5)).toThrow('(got 1.5)');
  });
});

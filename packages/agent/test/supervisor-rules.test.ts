import { describe, expect, it } from 'vitest';
import { crashLoopIn, RestartBackoff } from '../src/supervisor/index.js';

describe('crash-loop rule', () => {
  const rule = { crashes: 3, windowMs: 60_000 };
  it('needs N crashes inside the window that ends now', () => {
    expect(crashLoopIn([1_000, 2_000], 3_000, rule)).toBeUndefined();
    expect(crashLoopIn([1_000, 2_000, 3_000], 3_000, rule)).toEqual({ crashes: 3, windowMs: 60_000 });
    // the oldest crash slid out of the window
    expect(crashLoopIn([1_000, 2_000, 3_000], 61_000, rule)).toBeUndefined();
    // crashes in the future of `now` (a clock stepped back) do not count
    expect(crashLoopIn([1_000, 2_000, 90_000], 3_000, rule)).toBeUndefined();
  });
});

describe('restart backoff', () => {
  it('doubles to the cap and starts over after a stable run', () => {
    const b = new RestartBackoff({ initialMs: 1_000, maxMs: 4_000, stableMs: 30_000 });
    expect([b.delayAfter(10), b.delayAfter(10), b.delayAfter(10), b.delayAfter(10)]).toEqual([
      1_000, 2_000, 4_000, 4_000,
    ]);
    expect(b.delayAfter(30_000)).toBe(1_000);
    expect(b.delayAfter(10)).toBe(2_000);
    b.reset();
    expect(b.delayAfter(10)).toBe(1_000);
  });
});

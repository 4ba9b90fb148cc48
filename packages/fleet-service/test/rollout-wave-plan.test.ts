import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  WaveSpecSchema,
  checkWaves,
  planWaves,
  rolloutRank,
  waveForLateJoiner,
  type WaveSpec,
} from '@otafleet/fleet-service';

const fleet = (n: number): string[] => Array.from({ length: n }, (_, i) => `pi-${String(i).padStart(5, '0')}`);
const standard: WaveSpec[] = [{ count: 5 }, { percent: 10 }, { percent: 50 }, { percent: 100 }];

describe('wave specs', () => {
  it('accepts cumulative waves ending at 100%', () => {
    expect(checkWaves(standard).ok).toBe(true);
    expect(checkWaves([{ percent: 100 }]).ok).toBe(true);
  });

  it.each<[string, WaveSpec[], string, string]>([
    ['empty', [], '/waves', 'at least one wave'],
    [
      'shrinking percent',
      [{ percent: 50 }, { percent: 20 }, { percent: 100 }],
      '/waves/1/percent',
      'must exceed the 50%',
    ],
    ['shrinking count', [{ count: 5 }, { count: 5 }, { percent: 100 }], '/waves/1/count', 'must exceed the 5'],
    ['count after percent', [{ percent: 10 }, { count: 50 }, { percent: 100 }], '/waves/1/count', 'before the percent'],
    ['not covering', [{ count: 5 }, { percent: 90 }], '/waves/1', 'percent": 100'],
    [
      'duplicate names',
      [
        { name: 'a', count: 1 },
        { name: 'a', percent: 100 },
      ],
      '/waves',
      'a appears twice',
    ],
    [
      'too many',
      Array.from({ length: 21 }, (_, i) => ({ percent: (i + 1) * 4.7 > 100 ? 100 : (i + 1) * 4.7 })),
      '/waves',
      'at most 20',
    ],
  ])('refuses %s, naming the place', (_, waves, path, message) => {
    const result = checkWaves(waves);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.path).toBe(path);
      expect(result.error.message).toContain(message);
    }
  });

  it('the schema refuses wrong types and unknown fields', () => {
    expect(Value.Check(WaveSpecSchema, { percent: 0 })).toBe(false);
    expect(Value.Check(WaveSpecSchema, { percent: 101 })).toBe(false);
    expect(Value.Check(WaveSpecSchema, { count: 1.5 })).toBe(false);
    expect(Value.Check(WaveSpecSchema, { count: '5' })).toBe(false);
    expect(Value.Check(WaveSpecSchema, { percent: 10, extra: 1 })).toBe(false);
    expect(Value.Check(WaveSpecSchema, { count: 3, name: 'canary' })).toBe(true);
  });
});

describe('planWaves', () => {
  it('splits a fleet by cumulative size, every device exactly once, canary first', () => {
    const plan = planWaves(fleet(1000), standard, 'seed-1');
    expect(plan.map((w) => w.thingNames.length)).toEqual([5, 95, 400, 500]);
    expect(plan.map((w) => w.name)).toEqual(['canary', 'wave-2', 'wave-3', 'wave-4']);
    const all = plan.flatMap((w) => w.thingNames);
    expect(new Set(all).size).toBe(1000);
  });

  it('is reproducible for a seed and different across seeds', () => {
    const a = planWaves(fleet(500), standard, 'seed-1');
    const b = planWaves([...fleet(500)].reverse(), standard, 'seed-1');
    const c = planWaves(fleet(500), standard, 'seed-2');
    expect(b).toEqual(a);
    expect(c[0]?.thingNames).not.toEqual(a[0]?.thingNames);
  });

  it('small and empty fleets: waves shrink, never overlap, empty ones stay in the plan', () => {
    expect(planWaves(fleet(3), standard, 's').map((w) => w.thingNames.length)).toEqual([3, 0, 0, 0]);
    expect(planWaves(fleet(20), standard, 's').map((w) => w.thingNames.length)).toEqual([5, 0, 5, 10]);
    expect(planWaves([], standard, 's').map((w) => w.thingNames.length)).toEqual([0, 0, 0, 0]);
  });

  it('places a late joiner by its own rank but never in a wave already past', () => {
    const plan = planWaves(fleet(1000), standard, 'seed-1');
    const joiners = fleet(2000).slice(1000);
    const natural = joiners.map((name) => waveForLateJoiner(rolloutRank('seed-1', name), plan, 0));
    // Spread like the plan: roughly 0.5% / 9.5% / 40% / 50%.
    const share = (wave: number): number => natural.filter((w) => w === wave).length / joiners.length;
    expect(share(3)).toBeGreaterThan(0.4);
    expect(share(3)).toBeLessThan(0.6);
    expect(share(0)).toBeLessThan(0.03);
    for (const name of joiners)
      expect(waveForLateJoiner(rolloutRank('seed-1', name), plan, 2)).toBeGreaterThanOrEqual(2);
  });

  it('ranks are fractions in [0, 1) that depend only on seed and name', () => {
    const r = rolloutRank('s', 'pi-1');
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(1);
    expect(rolloutRank('s', 'pi-1')).toBe(r);
    expect(rolloutRank('t', 'pi-1')).not.toBe(r);
  });
});

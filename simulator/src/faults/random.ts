/**
 * The simulator's only source of randomness: a seeded PRNG (mulberry32), so one seed places every fault, jitter
 * and phase the same way on every run.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string: mixes a name into a seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stream of its own for one purpose (e.g. a device's name): independent of how many others were drawn. */
export function randomFor(seed: number, ...names: readonly string[]): Random {
  return seededRandom(hash32(`${seed >>> 0}:${names.join('/')}`));
}

/** `count` distinct indices out of `n`, chosen by `random` (a partial Fisher–Yates shuffle), in ascending order. */
export function pickIndices(n: number, count: number, random: Random): number[] {
  const all = Array.from({ length: n }, (_v, i) => i);
  const k = Math.max(0, Math.min(n, count));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

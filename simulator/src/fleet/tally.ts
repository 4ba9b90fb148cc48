import type { FleetTally } from './contracts.js';

/** A tally being counted. */
export type TallyCounts = { -readonly [K in keyof FleetTally]: number };
export const emptyTally = (): TallyCounts => ({ devices: 0, online: 0, connectedOnce: 0, ready: 0 });

/** The fleet's tally from its threads' tallies. */
export function sumTallies(parts: readonly FleetTally[]): FleetTally {
  const t = emptyTally();
  for (const p of parts) for (const k of Object.keys(t) as (keyof FleetTally)[]) t[k] += p[k];
  return t;
}

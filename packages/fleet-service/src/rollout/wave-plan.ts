import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { err, ok, type Result } from '@otafleet/protocol';

/**
 * Waves are cumulative: a wave says how much of the target has the release once it is done — `{ count: 5 }` for a
 * five-device canary, then `{ percent: 10 }`, `{ percent: 50 }`, `{ percent: 100 }`. Cumulative sizes are what an
 * operator reasons about ("half the fleet is on it") and they make a plan valid for any fleet size: at 40 devices a
 * 1% wave is one device, at 0 devices every wave is empty and passes at once.
 */
export const WaveSpecSchema = Type.Union([
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      count: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    },
    { additionalProperties: false },
  ),
]);
export type WaveSpec = Static<typeof WaveSpecSchema>;

export const MAX_WAVES = 20;

export interface WavePlanIssue {
  readonly code: 'INVALID_WAVES';
  readonly path: string;
  readonly message: string;
}

/** The rules the schema cannot say: order, and that the last wave covers the whole target. */
export function checkWaves(waves: readonly WaveSpec[]): Result<readonly WaveSpec[], WavePlanIssue> {
  const issue = (path: string, message: string): Result<never, WavePlanIssue> =>
    err({ code: 'INVALID_WAVES', path, message });
  if (waves.length === 0) return issue('/waves', 'a rollout needs at least one wave');
  if (waves.length > MAX_WAVES) return issue('/waves', `at most ${MAX_WAVES} waves`);
  let lastPercent = 0;
  let lastCount = 0;
  for (const [i, wave] of waves.entries()) {
    if ('percent' in wave) {
      if (wave.percent <= lastPercent) {
        return issue(
          `/waves/${i}/percent`,
          `waves are cumulative: ${wave.percent}% must exceed the ${lastPercent}% before it`,
        );
      }
      lastPercent = wave.percent;
    } else {
      if (wave.count <= lastCount) {
        return issue(
          `/waves/${i}/count`,
          `waves are cumulative: ${wave.count} devices must exceed the ${lastCount} before it`,
        );
      }
      if (lastPercent > 0) {
        return issue(`/waves/${i}/count`, 'a count wave (a canary) must come before the percent waves');
      }
      lastCount = wave.count;
    }
  }
  const last = waves[waves.length - 1];
  if (last === undefined || !('percent' in last) || last.percent !== 100) {
    return issue(
      `/waves/${waves.length - 1}`,
      'the last wave must be { "percent": 100 } so the whole target is covered',
    );
  }
  const names = waves.map((w, i) => w.name ?? defaultWaveName(i, waves.length));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) return issue('/waves', `wave names must differ: ${duplicate} appears twice`);
  return ok(waves);
}

export const defaultWaveName = (index: number, count: number): string =>
  index === 0 && count > 1 ? 'canary' : `wave-${index + 1}`;

/**
 * A device's place in the rollout's random order: a SHA-256 of the seed and its name, as a fraction in [0, 1).
 * Seeded, so the same rollout always picks the same canary; hashed per device, so a device's place does not
 * depend on which other devices exist (a late joiner does not reshuffle anyone).
 */
export function rolloutRank(seed: string, thingName: string): number {
  const digest = createHash('sha256').update(seed).update('\0').update(thingName).digest();
  // 48 bits are plenty to order 50,000 devices and stay an exact double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export interface PlannedWave {
  readonly index: number;
  readonly name: string;
  readonly thingNames: readonly string[];
  /** Upper bound (exclusive) of the ranks this wave took, so late joiners can be placed consistently. */
  readonly rankCeiling: number;
}

/** Cumulative device count after wave `spec` for a target of `total` devices. */
function cumulativeSize(spec: WaveSpec, total: number): number {
  return 'count' in spec ? Math.min(spec.count, total) : Math.min(total, Math.ceil((spec.percent * total) / 100));
}

/** Splits the target into waves: devices ordered by rank, each wave taking up to its cumulative size. */
export function planWaves(thingNames: readonly string[], waves: readonly WaveSpec[], seed: string): PlannedWave[] {
  const ranked = [...new Set(thingNames)]
    .map((name) => ({ name, rank: rolloutRank(seed, name) }))
    .sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : 1));
  const plan: PlannedWave[] = [];
  let taken = 0;
  for (const [index, spec] of waves.entries()) {
    const upTo = Math.max(taken, cumulativeSize(spec, ranked.length));
    const members = ranked.slice(taken, upTo);
    const isLast = index === waves.length - 1;
    const next = ranked[upTo];
    const rankCeiling = isLast || next === undefined ? 1 : next.rank;
    plan.push({
      index,
      name: spec.name ?? defaultWaveName(index, waves.length),
      thingNames: members.map((m) => m.name),
      rankCeiling,
    });
    taken = upTo;
  }
  return plan;
}

/**
 * The wave a device that joined the target after the plan was made belongs to: the wave its rank falls in, but
 * never one already past — a late joiner is updated with the current wave, not retroactively in the canary.
 */
export function waveForLateJoiner(
  rank: number,
  plan: readonly Pick<PlannedWave, 'rankCeiling'>[],
  currentWaveIndex: number,
): number {
  const natural = plan.findIndex((wave) => rank < wave.rankCeiling);
  return Math.max(natural === -1 ? plan.length - 1 : natural, currentWaveIndex);
}

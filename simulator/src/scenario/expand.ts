import { rolloutRank } from '@otafleet/fleet-service';
import type { DeviceFaults, VirtualDeviceSpec } from '../fleet/contracts.js';
import { FLEET_GROUP, thingNameOf } from './rules.js';
import type { DeviceGroup, Fault, Scenario } from './schema.js';

/** What the command line may change in a scenario. */
export interface ScenarioOverrides {
  /** Total devices at the start (late joiners scaled by the same factor). */
  readonly devices?: number;
  readonly seed?: number;
}

export interface PlannedDevice {
  readonly spec: VirtualDeviceSpec;
  /** The scenario group it belongs to (its thing group; every device is also in FLEET_GROUP). */
  readonly group: string;
}

export interface LateJoinerBatch {
  readonly afterMs: number;
  readonly group: string;
  readonly devices: readonly PlannedDevice[];
}

/** A scenario made concrete: every device with its faults, as the virtual fleet takes them. */
export interface ScenarioPlan {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly devices: readonly PlannedDevice[];
  readonly lateJoiners: readonly LateJoinerBatch[];
  /** Thing-group names, sorted; FLEET_GROUP first. */
  readonly groups: readonly string[];
  /**
   * Set for a run on a stack that others use too (inNamespace): thing names (already in the specs), thing groups
   * and the rollout id are `<namespace>-<name>` there, so the run touches nothing but its own devices.
   */
  readonly namespace?: string;
}

/** A scenario name (thing group, rollout id) as the stack knows it: prefixed with the plan's namespace, if any. */
export const namespaced = (plan: Pick<ScenarioPlan, 'namespace'>, name: string): string =>
  plan.namespace === undefined ? name : `${plan.namespace}-${name}`;

/**
 * The plan with every thing name prefixed `<namespace>-` and the namespace recorded for its groups and rollout.
 * Scenario group names stay as they are in the devices' `group` (the expectations name those).
 */
export function inNamespace(plan: ScenarioPlan, namespace: string): ScenarioPlan {
  const named = { namespace };
  const rename = (d: PlannedDevice): PlannedDevice => ({
    ...d,
    spec: { ...d.spec, thingName: namespaced(named, d.spec.thingName) },
  });
  return {
    ...plan,
    namespace,
    devices: plan.devices.map(rename),
    lateJoiners: plan.lateJoiners.map((b) => ({ ...b, devices: b.devices.map(rename) })),
  };
}

/** Scales counts to sum to `total` (largest remainder, ties by position), so `--devices N` keeps the proportions. */
export function scaleCounts(counts: readonly number[], total: number): number[] {
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * total) / sum);
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; k < total - out.reduce((a, b) => a + b, 0); k++) {
    const slot = order[k % order.length];
    if (slot !== undefined) out[slot.i] = (out[slot.i] ?? 0) + 1;
  }
  return out;
}

/** `percent` of `names` (rounded), picked by a seeded hash rank: the same seed and salt always pick the same. */
export function seededPick(
  names: readonly string[],
  share: { percent: number } | { count: number },
  salt: string,
): string[] {
  const n = 'percent' in share ? Math.round((share.percent * names.length) / 100) : Math.min(share.count, names.length);
  return names
    .map((name) => ({ name, rank: rolloutRank(salt, name) }))
    .sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : 1))
    .slice(0, n)
    .map((d) => d.name);
}

type MutableFaults = { -readonly [K in keyof DeviceFaults]: DeviceFaults[K] };

/** Adds one fault entry to a device's faults: lists accumulate (without repeats), single values: the later wins. */
function merge(into: MutableFaults, f: Omit<Fault, 'percent' | 'count' | 'devices' | 'groups'>): void {
  const union = <T>(a: readonly T[] | undefined, b: readonly T[] | undefined): readonly T[] | undefined =>
    b === undefined ? a : [...new Set([...(a ?? []), ...b])];
  const { unhealthyVersions, crashingVersions, networkDrops, offlineWindows, ...single } = f;
  const u = union(into.unhealthyVersions, unhealthyVersions);
  const c = union(into.crashingVersions, crashingVersions);
  const d = networkDrops === undefined ? into.networkDrops : [...(into.networkDrops ?? []), ...networkDrops];
  const o = offlineWindows === undefined ? into.offlineWindows : [...(into.offlineWindows ?? []), ...offlineWindows];
  Object.assign(into, single);
  if (u !== undefined) into.unhealthyVersions = u;
  if (c !== undefined) into.crashingVersions = c;
  if (d !== undefined) into.networkDrops = d;
  if (o !== undefined) into.offlineWindows = o;
}

/**
 * Turns a validated scenario into devices: groups (scaled to `--devices`), faults placed by the seed (fault
 * entries and bad releases), late joiners in batches. Pure: the same scenario, seed and size give the same plan.
 */
export function planScenario(scenario: Scenario, overrides: ScenarioOverrides = {}): ScenarioPlan {
  const seed = overrides.seed ?? scenario.seed;
  const initial = scenario.fleet.reduce((n, g) => n + g.count, 0);
  const total = overrides.devices ?? initial;
  const fleetCounts = scaleCounts(
    scenario.fleet.map((g) => g.count),
    total,
  );
  const factor = initial === 0 ? 1 : total / initial;
  const sized = (g: DeviceGroup, count: number): DeviceGroup => ({ ...g, count });
  const fleet = scenario.fleet.map((g, i) => sized(g, fleetCounts[i] ?? 0));
  const late = (scenario.lateJoiners ?? []).map((g) => ({
    ...sized(g, g.count === 0 ? 0 : Math.max(1, Math.round(g.count * factor))),
    afterMs: g.afterMs,
  }));

  const members = (g: DeviceGroup): { name: string; group: DeviceGroup }[] =>
    Array.from({ length: g.count }, (_, i) => ({ name: thingNameOf(g, i), group: g }));
  const everyone = [...fleet, ...late].flatMap(members);
  const faults = new Map<string, MutableFaults>(everyone.map((d) => [d.name, {}]));

  (scenario.faults ?? []).forEach((f, i) => {
    const { percent, count, devices, groups, ...kinds } = f;
    const pool = everyone.filter((d) => groups === undefined || groups.includes(d.group.group)).map((d) => d.name);
    const chosen =
      devices !== undefined
        ? devices.filter((d) => pool.includes(d))
        : seededPick(pool, percent !== undefined ? { percent } : { count: count ?? 0 }, `${seed}/faults/${i}`);
    for (const name of chosen) {
      const into = faults.get(name);
      if (into !== undefined) merge(into, kinds);
    }
  });
  for (const release of scenario.releases) {
    const compatible = everyone.filter((d) => release.hardware.includes(d.group.hardwareType)).map((d) => d.name);
    const bad = [
      ['unhealthyVersions', release.unhealthyPercent],
      ['crashingVersions', release.crashingPercent],
    ] as const;
    for (const [key, percent] of bad) {
      if (percent === undefined) continue;
      for (const name of seededPick(compatible, { percent }, `${seed}/releases/${release.version}/${key}`)) {
        const into = faults.get(name);
        if (into !== undefined) merge(into, { [key]: [release.version] });
      }
    }
  }

  const plan = (name: string, g: DeviceGroup): PlannedDevice => ({
    group: g.group,
    spec: {
      thingName: name,
      hardwareType: g.hardwareType,
      startVersion: g.startVersion,
      faults: faults.get(name) ?? {},
    },
  });
  return {
    scenario,
    seed,
    devices: fleet.flatMap(members).map((d) => plan(d.name, d.group)),
    lateJoiners: late
      .filter((g) => g.count > 0)
      .map((g) => ({ afterMs: g.afterMs, group: g.group, devices: members(g).map((d) => plan(d.name, g)) })),
    groups: [FLEET_GROUP, ...[...new Set([...fleet, ...late].map((g) => g.group))].sort()],
  };
}

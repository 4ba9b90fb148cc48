import type { DeviceFaults, VirtualDeviceSpec } from '../fleet/contracts.js';
import { pickIndices, randomFor } from './random.js';

/** A fault given to a share of the fleet (optionally only of one hardware type). */
export interface FleetFaultRule {
  /** 0–100: of the matching devices, this share (rounded to the nearest device) gets `faults`. */
  readonly percent: number;
  readonly faults: DeviceFaults;
  readonly hardwareType?: string;
}

export class FleetFaultError extends Error {
  override readonly name = 'FleetFaultError';
}

/** List faults of a device and of a rule both apply: lists are joined, single values of the rule win. */
function merge(a: DeviceFaults, b: DeviceFaults): DeviceFaults {
  const join = <T>(x: readonly T[] | undefined, y: readonly T[] | undefined): readonly T[] | undefined =>
    x === undefined ? y : y === undefined ? x : [...x, ...y];
  const lists = {
    unhealthyVersions: join(a.unhealthyVersions, b.unhealthyVersions),
    crashingVersions: join(a.crashingVersions, b.crashingVersions),
    networkDrops: join(a.networkDrops, b.networkDrops),
    offlineWindows: join(a.offlineWindows, b.offlineWindows),
  };
  const merged: Record<string, unknown> = { ...a, ...b };
  for (const [k, v] of Object.entries(lists)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return merged;
}

/**
 * Turns fleet percentages into per-device faults, deterministically: for rule i, the devices are chosen by a PRNG
 * seeded from (seed, i), so the same seed and the same fleet give the same placement. Devices keep their own faults.
 */
export function applyFleetFaults(
  devices: readonly VirtualDeviceSpec[],
  rules: readonly FleetFaultRule[],
  seed: number,
): VirtualDeviceSpec[] {
  const out = devices.map((d) => ({ ...d }));
  rules.forEach((rule, i) => {
    if (!(Number.isFinite(rule.percent) && rule.percent >= 0 && rule.percent <= 100)) {
      throw new FleetFaultError(`fault rule ${i}: percent must be between 0 and 100 (got ${String(rule.percent)})`);
    }
    const matching = out
      .map((d, index) => ({ d, index }))
      .filter(({ d }) => rule.hardwareType === undefined || d.hardwareType === rule.hardwareType);
    const count = Math.round((matching.length * rule.percent) / 100);
    for (const k of pickIndices(matching.length, count, randomFor(seed, 'fault-rule', String(i)))) {
      const { d, index } = matching[k]!;
      out[index] = { ...d, faults: merge(d.faults, rule.faults) };
    }
  });
  return out;
}

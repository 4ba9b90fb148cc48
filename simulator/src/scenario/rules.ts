import { checkWaves } from '@otafleet/fleet-service';
import { FAULT_KINDS, type DeviceGroup, type Scenario } from './schema.js';

/** The thing group every device of a scenario is in: the default rollout target. */
export const FLEET_GROUP = 'sim-fleet';

/** `<prefix>-0001`: zero-padded to the group's size (at least four digits) so names sort in order. */
export function thingNameOf(group: Pick<DeviceGroup, 'group' | 'prefix' | 'count'>, index: number): string {
  const width = Math.max(4, String(group.count).length);
  return `${group.prefix ?? group.group}-${String(index + 1).padStart(width, '0')}`;
}

/** Where a rule found a problem: a JSON pointer into the document and a sentence about it (without the path). */
export interface RuleIssue {
  readonly pointer: string;
  readonly message: string;
}

/** The rules across fields that a schema cannot say. Pointers into the document, in document order. */
export function checkScenarioRules(s: Scenario): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (pointer: string, message: string): void => void issues.push({ pointer, message });

  const versions = new Set<string>();
  s.releases.forEach((r, i) => {
    if (versions.has(r.version)) add(`/releases/${i}/version`, `releases[${i}].version ${r.version} appears twice`);
    versions.add(r.version);
  });

  const groups = new Set<string>([FLEET_GROUP]);
  const prefixes = new Set<string>();
  const lateJoiners = s.lateJoiners ?? [];
  const allGroups = [
    ...s.fleet.map((g, i) => ({ g, at: `/fleet/${i}`, shown: `fleet[${i}]` })),
    ...lateJoiners.map((g, i) => ({ g, at: `/lateJoiners/${i}`, shown: `lateJoiners[${i}]` })),
  ];
  const startVersions = new Set<string>();
  for (const { g, at, shown } of allGroups) {
    startVersions.add(g.startVersion);
    if (g.group === FLEET_GROUP) {
      add(`${at}/group`, `${shown}.group ${FLEET_GROUP} is reserved: it is the group of the whole fleet`);
    }
    groups.add(g.group);
    const prefix = g.prefix ?? g.group;
    if (prefixes.has(prefix)) {
      add(
        `${at}/${g.prefix === undefined ? 'group' : 'prefix'}`,
        `${shown}: the thing-name prefix ${prefix} is used twice`,
      );
    }
    prefixes.add(prefix);
  }
  if (s.fleet.reduce((n, g) => n + g.count, 0) === 0) add('/fleet', 'fleet has no devices: every count is 0');

  const deviceNames = new Set<string>();
  for (const { g } of allGroups) for (let i = 0; i < g.count; i++) deviceNames.add(thingNameOf(g, i));

  (s.faults ?? []).forEach((f, i) => {
    const at = `/faults/${i}`;
    const picks = (['percent', 'count', 'devices'] as const).filter((k) => f[k] !== undefined);
    if (picks.length !== 1) {
      add(at, `faults[${i}] needs exactly one of percent, count or devices to say which devices (has ${picks.length})`);
    }
    if (!FAULT_KINDS.some((k) => f[k] !== undefined)) {
      add(at, `faults[${i}] names no fault (one or more of: ${FAULT_KINDS.join(', ')})`);
    }
    f.devices?.forEach((d, j) => {
      if (!deviceNames.has(d))
        add(`${at}/devices/${j}`, `faults[${i}].devices[${j}] ${d} is not a device of the fleet`);
    });
    f.groups?.forEach((g, j) => {
      if (!groups.has(g)) add(`${at}/groups/${j}`, `faults[${i}].groups[${j}] ${g} is not a group of the fleet`);
    });
    for (const key of ['unhealthyVersions', 'crashingVersions'] as const) {
      f[key]?.forEach((v, j) => {
        if (!versions.has(v)) add(`${at}/${key}/${j}`, `faults[${i}].${key}[${j}] ${v} is not one of the releases`);
      });
    }
    f.offlineWindows?.forEach((w, j) => {
      if (w.toMs <= w.fromMs) {
        add(`${at}/offlineWindows/${j}`, `faults[${i}].offlineWindows[${j}] must end (toMs) after it starts (fromMs)`);
      }
    });
  });

  const r = s.rollout;
  if (!versions.has(r.release)) {
    add('/rollout/release', `rollout.release ${r.release} is not one of the releases (${[...versions].join(', ')})`);
  }
  if (r.target !== undefined) {
    if (r.target.kind === 'query') {
      add('/rollout/target', 'rollout.target of kind query is not supported by the fleet service yet: use a group');
    } else if (!groups.has(r.target.groupName)) {
      add('/rollout/target/groupName', `rollout.target.groupName ${r.target.groupName} is not a group of the fleet`);
    }
  }
  const waves = checkWaves(r.waves);
  if (!waves.ok)
    add(
      `/rollout${waves.error.path}`,
      `rollout${waves.error.path.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')} ${waves.error.message}`,
    );

  const e = s.expect;
  if (e.waves !== undefined && e.waves.length !== r.waves.length) {
    add('/expect/waves', `expect.waves lists ${e.waves.length} waves; the rollout has ${r.waves.length}`);
  }
  if (e.rollbacks?.min !== undefined && e.rollbacks.max !== undefined && e.rollbacks.min > e.rollbacks.max) {
    add('/expect/rollbacks', 'expect.rollbacks.min is above expect.rollbacks.max');
  }
  e.untouched?.groups?.forEach((g, j) => {
    if (!groups.has(g))
      add(`/expect/untouched/groups/${j}`, `expect.untouched.groups[${j}] ${g} is not a group of the fleet`);
  });
  e.versionsAmong?.forEach((v, j) => {
    if (!versions.has(v) && !startVersions.has(v)) {
      add(`/expect/versionsAmong/${j}`, `expect.versionsAmong[${j}] ${v} is neither a release nor a start version`);
    }
  });
  for (const [g, v] of Object.entries(e.groupVersions ?? {})) {
    if (!groups.has(g)) add(`/expect/groupVersions/${g}`, `expect.groupVersions: ${g} is not a group of the fleet`);
    else if (!versions.has(v) && !startVersions.has(v)) {
      add(`/expect/groupVersions/${g}`, `expect.groupVersions: ${v} is neither a release nor a start version`);
    }
  }
  if (e.versions !== undefined) {
    const tallies = Object.entries(e.versions);
    for (const [v] of tallies) {
      if (!versions.has(v) && !startVersions.has(v)) {
        add(`/expect/versions/${v}`, `expect.versions: ${v} is neither a release nor a start version of the fleet`);
      }
    }
    if (tallies.filter(([, t]) => t === 'rest').length > 1)
      add('/expect/versions', 'expect.versions: "rest" may appear once');
    if (tallies.some(([, t]) => t === 'all') && tallies.some(([, t]) => t !== 'all' && t !== 0)) {
      add('/expect/versions', 'expect.versions: with "all" on one version every other version must be 0');
    }
  }
  return issues;
}

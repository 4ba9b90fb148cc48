import type { RunFacts } from './run-facts.js';

/** One expectation of the scenario, as checked against the run. */
export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly observed: string;
}

const FINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED', 'TIMED_OUT', 'REMOVED']);
/** Final statuses a device never saw (the service ended them while queued): the device holds no record of them. */
const SERVICE_SIDE = new Set(['CANCELED', 'REMOVED', 'TIMED_OUT']);

const list = (names: readonly string[], max = 5): string =>
  names.length === 0
    ? 'none'
    : `${names.slice(0, max).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''}`;

/** Checks the scenario's `expect` section against what the run found; sorted output, no timing in it. */
export function checkExpectations(f: RunFacts): Check[] {
  const e = f.plan.scenario.expect;
  const obs = f.observations;
  const checks: Check[] = [];
  const check = (name: string, passed: boolean, expected: string, observed: string): void =>
    void checks.push({ name, passed, expected, observed });

  check(
    'run',
    f.reachedRest && !f.interrupted,
    `the rollout rests within ${f.deadlineSeconds} s`,
    f.interrupted ? 'interrupted' : f.reachedRest ? 'rested' : `still ${f.rollout.status} at the deadline`,
  );
  check('rollout status', f.rollout.status === e.rollout, e.rollout, f.rollout.status);
  if (e.waves !== undefined) {
    const got = f.rollout.waves.map((w) => w.status);
    check('wave statuses', got.join(',') === e.waves.join(','), e.waves.join(', '), got.join(', '));
  }
  if (e.versions !== undefined) {
    const counts = new Map<string, number>();
    for (const o of obs) counts.set(o.runningVersion, (counts.get(o.runningVersion) ?? 0) + 1);
    const counted = Object.entries(e.versions).reduce((n, [, t]) => n + (typeof t === 'number' ? t : 0), 0);
    for (const [version, tally] of Object.entries(e.versions).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const want = tally === 'all' ? obs.length : tally === 'rest' ? obs.length - counted : tally;
      const got = counts.get(version) ?? 0;
      check(`devices on ${version}`, got === want, `${tally === 'all' ? 'all ' : ''}${want}`, String(got));
    }
  }
  if (e.versionsAmong !== undefined) {
    const good = new Set(e.versionsAmong);
    const off = obs.filter((o) => !good.has(o.runningVersion)).map((o) => `${o.thingName} ${o.runningVersion}`);
    check('every device on a good version', off.length === 0, e.versionsAmong.join(' or '), `others: ${list(off)}`);
  }
  const groupOf = new Map<string, string>();
  for (const d of [...f.plan.devices, ...f.plan.lateJoiners.flatMap((b) => b.devices)]) {
    groupOf.set(d.spec.thingName, d.group);
  }
  for (const [group, version] of Object.entries(e.groupVersions ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const members = obs.filter((o) => groupOf.get(o.thingName) === group);
    const off = members.filter((o) => o.runningVersion !== version).map((o) => o.thingName);
    check(`group ${group} on ${version}`, off.length === 0, `all ${members.length}`, `not on it: ${list(off)}`);
  }
  const deployed = new Set([...f.waveMembers.values()].flat());
  if (e.rollbacks !== undefined) {
    const total = obs.reduce((n, o) => n + o.rollbacks.length, 0);
    if (e.rollbacks.min !== undefined) {
      check('rollbacks at least', total >= e.rollbacks.min, String(e.rollbacks.min), String(total));
    }
    if (e.rollbacks.max !== undefined) {
      check('rollbacks at most', total <= e.rollbacks.max, String(e.rollbacks.max), String(total));
    }
    if (e.rollbacks.everyDeployedDevice === true) {
      const start = new Map(f.plan.devices.map((d) => [d.spec.thingName, d.spec.startVersion]));
      const rollbackJob = `${f.rollout.id}-rollback`;
      const notBack = [...deployed].sort().filter((name) => {
        const o = obs.find((x) => x.thingName === name);
        const rolledBack =
          (o?.rollbacks.length ?? 0) > 0 ||
          f.executions.some((x) => x.thingName === name && x.jobId.endsWith(rollbackJob) && x.status === 'SUCCEEDED');
        return o === undefined || !rolledBack || o.runningVersion !== start.get(name);
      });
      check(
        'every deployed device rolled back',
        notBack.length === 0,
        `${deployed.size} devices back on their start version`,
        `not back: ${list(notBack)}`,
      );
    }
  }
  if (e.untouched !== undefined) {
    const touched = new Set([
      ...f.executions.map((x) => x.thingName),
      ...obs.filter((o) => o.jobs.length > 0).map((o) => o.thingName),
    ]);
    if (e.untouched.outsideDeployedWaves === true) {
      const wrong = [...touched].filter((n) => !deployed.has(n)).sort();
      check(
        'no device outside the deployed waves touched',
        wrong.length === 0,
        `${obs.length - deployed.size} untouched`,
        `touched: ${list(wrong)}`,
      );
    }
    for (const group of [...(e.untouched.groups ?? [])].sort()) {
      const wrong = [...touched].filter((n) => groupOf.get(n) === group).sort();
      check(`group ${group} untouched`, wrong.length === 0, 'no job', `touched: ${list(wrong)}`);
    }
  }
  if (e.allJobsFinal === true) {
    const notFinal = f.executions.filter((x) => !FINAL_EXECUTION.has(x.status));
    const disagree = f.executions.filter((x) => {
      if (!FINAL_EXECUTION.has(x.status)) return false;
      const seen = obs.find((o) => o.thingName === x.thingName)?.jobs.find((j) => j.jobId === x.jobId);
      return seen === undefined ? !SERVICE_SIDE.has(x.status) : seen.status !== x.status;
    });
    check(
      'every job final',
      notFinal.length === 0,
      `${f.executions.length} executions final`,
      `not final: ${list(notFinal.map((x) => `${x.thingName} ${x.jobId} ${x.status}`))}`,
    );
    check(
      'devices agree with the job service',
      disagree.length === 0,
      'each device holds the final status the core has',
      `disagree: ${list(
        disagree.map((x) => {
          const seen = obs.find((o) => o.thingName === x.thingName)?.jobs.find((j) => j.jobId === x.jobId);
          return `${x.thingName} ${x.jobId} core ${x.status} device ${seen?.status ?? 'none'}`;
        }),
      )}`,
    );
  }
  return checks;
}

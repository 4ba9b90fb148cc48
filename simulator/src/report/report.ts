import type { CoreExecution } from '../run/registry.js';
import { checkExpectations, type Check } from './expectations.js';
import type { RunFacts } from './run-facts.js';

export const REPORT_SCHEMA_VERSION = 1;

/**
 * The run's report (documented in docs/simulator.md). Everything outside `measured` depends only on the scenario,
 * its seed and size: no times, everything sorted, so two runs with the same seed can be compared as a whole.
 */
export type { RunFacts };

export interface SimReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly scenario: string;
  readonly seed: number;
  readonly devices: number;
  /** Where it ran: its own local stack, or a running one (the run's thing names and groups: `<namespace>-…`). */
  readonly stack: RunFacts['stack'];
  readonly passed: boolean;
  readonly checks: readonly Check[];
  readonly rollout: {
    readonly id: string;
    readonly release: string;
    readonly status: string;
    readonly waves: readonly {
      readonly index: number;
      readonly name: string;
      readonly status: string;
      readonly devices: number;
      readonly decision: string | undefined;
      readonly findings: readonly { readonly gate: string; readonly passed: boolean }[];
    }[];
  };
  /** Gate decisions in the order the rollout's audit log has them. */
  readonly gateDecisions: readonly { readonly wave: string; readonly decision: string; readonly to: string }[];
  /** Devices per final running version. */
  readonly versions: Readonly<Record<string, number>>;
  /** Devices per final (version, phase). */
  readonly finalStates: readonly { readonly version: string; readonly phase: string; readonly devices: number }[];
  readonly groups: readonly { readonly group: string; readonly versions: Readonly<Record<string, number>> }[];
  readonly rollbacks: {
    readonly total: number;
    readonly devices: number;
    readonly byReasonCode: Readonly<Record<string, number>>;
  };
  /** Executions of the rollout's jobs by job (wave name or `rollback`) and status, from the core. */
  readonly jobs: readonly { readonly job: string; readonly byStatus: Readonly<Record<string, number>> }[];
  /** Devices that received any job of the rollout. */
  readonly touchedDevices: number;
  /** Figures that depend on timing: not compared between runs. */
  readonly measured: {
    readonly timingsMs: Readonly<Record<string, number>>;
    readonly waves: readonly {
      readonly name: string;
      readonly deployToSettleMs: number | undefined;
      readonly deployToDecisionMs: number | undefined;
    }[];
    readonly gateFindings: readonly { readonly wave: string; readonly message: string }[];
    readonly messages: { readonly in: number; readonly out: number };
    readonly agentRestarts: number;
    readonly reboots: number;
    readonly powerCuts: number;
    readonly offlineAtEnd: number;
  };
}

const countBy = <T>(items: readonly T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return sorted(out);
};
const sorted = <V>(r: Record<string, V>): Record<string, V> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The deterministic summary and the measured figures of a run, with the expected outcome checked. */
export function buildReport(f: RunFacts): SimReport {
  const { rollout, observations: obs } = f;
  const groupOf = new Map<string, string>();
  for (const d of [...f.plan.devices, ...f.plan.lateJoiners.flatMap((b) => b.devices)]) {
    groupOf.set(d.spec.thingName, d.group);
  }
  const jobName = (jobId: string): string =>
    rollout.waves.find((w) => w.jobId === jobId)?.name ?? (jobId.endsWith('-rollback') ? 'rollback' : jobId);
  const byJob = new Map<string, CoreExecution[]>();
  for (const e of f.executions) byJob.set(jobName(e.jobId), [...(byJob.get(jobName(e.jobId)) ?? []), e]);
  const rollbacks = obs.flatMap((o) => o.rollbacks);
  const gateActions = f.audit.flatMap((a) => {
    const m = /^wave (.+): (gate-passed|gate-breached|promote)$/.exec(a.action);
    return m === null ? [] : [{ wave: m[1] ?? '', decision: m[2] ?? '', to: a.to ?? '', detail: a.detail }];
  });
  const checks = checkExpectations(f);
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    scenario: f.plan.scenario.name,
    seed: f.plan.seed,
    devices: obs.length,
    stack: f.stack,
    passed: checks.every((c) => c.passed),
    checks,
    rollout: {
      id: rollout.id,
      release: f.release,
      status: rollout.status,
      waves: rollout.waves.map((w) => ({
        index: w.index,
        name: w.name,
        status: w.status,
        devices: f.waveMembers.get(w.index)?.length ?? 0,
        decision: w.verdict?.decision,
        findings: (w.verdict?.findings ?? [])
          .map((x) => ({ gate: x.gate, passed: x.passed }))
          .sort((a, b) => (a.gate < b.gate ? -1 : 1)),
      })),
    },
    gateDecisions: gateActions.map(({ wave, decision, to }) => ({ wave, decision, to })),
    versions: countBy(obs, (o) => o.runningVersion),
    finalStates: Object.entries(countBy(obs, (o) => `${o.runningVersion}\0${o.phase}`)).map(([k, devices]) => {
      const [version = '', phase = ''] = k.split('\0');
      return { version, phase, devices };
    }),
    groups: [...new Set(groupOf.values())].sort().map((group) => ({
      group,
      versions: countBy(
        obs.filter((o) => groupOf.get(o.thingName) === group),
        (o) => o.runningVersion,
      ),
    })),
    rollbacks: {
      total: rollbacks.length,
      devices: obs.filter((o) => o.rollbacks.length > 0).length,
      byReasonCode: countBy(rollbacks, (r) => r.reasonCode),
    },
    jobs: [...byJob.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([job, execs]) => ({ job, byStatus: countBy(execs, (e) => e.status) })),
    touchedDevices: new Set(f.executions.map((e) => e.thingName)).size,
    measured: {
      timingsMs: f.timings,
      waves: rollout.waves.map((w) => ({
        name: w.name,
        deployToSettleMs:
          w.deployedAt === undefined || w.settledAt === undefined ? undefined : w.settledAt - w.deployedAt,
        deployToDecisionMs:
          w.deployedAt === undefined || w.decidedAt === undefined ? undefined : w.decidedAt - w.deployedAt,
      })),
      gateFindings: gateActions.flatMap((g) => (g.detail === undefined ? [] : [{ wave: g.wave, message: g.detail }])),
      messages: { in: sum(obs.map((o) => o.messagesIn)), out: sum(obs.map((o) => o.messagesOut)) },
      agentRestarts: sum(obs.map((o) => o.agentRestarts)),
      reboots: sum(obs.map((o) => o.reboots)),
      powerCuts: sum(obs.map((o) => o.powerCuts)),
      offlineAtEnd: obs.filter((o) => !o.online).length,
    },
  };
}

/** The parts of a report that the same scenario, seed and size always give (for comparing runs). */
export function deterministicPart(report: SimReport): Omit<SimReport, 'measured'> {
  const { measured: _measured, ...rest } = report;
  return rest;
}

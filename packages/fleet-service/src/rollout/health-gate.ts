import { Type, type Static } from '@sinclair/typebox';

/**
 * A wave's gate: after the wave's executions settle and its soak time passes, is the release good enough to go
 * wider? Install outcomes come from the Jobs service; health comes from the devices' own reports, judged as RATES
 * (per device-hour of uptime, errors per request) so a device that has run for ten minutes compares fairly with
 * one that has run for a week. Updated devices are compared with their own figures before the update and with
 * devices not updated yet; the worse of the two baselines wins (a fleet-wide incident does not blame the release,
 * a release that is worse than what the same devices did before does not hide behind a sick fleet).
 */
export const GateConfigSchema = Type.Object(
  {
    /** Share of the wave's devices whose job SUCCEEDED; timed out, failed and rejected executions count against. */
    minInstallSuccessRate: Type.Number({ minimum: 0, maximum: 1, default: 0.95 }),
    /** Largest tolerated share of updated devices reporting an unhealthy status after the soak. */
    maxUnhealthyFraction: Type.Number({ minimum: 0, maximum: 1, default: 0.05 }),
    /** Crash / restart / error rates may be at most this many times the baseline's... */
    maxRateRatio: Type.Number({ minimum: 1, maximum: 100, default: 2 }),
    /** ...or this many crashes (or restarts) per device-hour, whichever is larger: a zero baseline is no reason to fail on one crash. */
    crashesPerDeviceHourFloor: Type.Number({ minimum: 0, maximum: 1000, default: 0.5 }),
    /** The error-rate floor (errors per request) for the same reason. */
    errorRateFloor: Type.Number({ minimum: 0, maximum: 1, default: 0.01 }),
    /** Share of the succeeded devices that must have reported health since their update before health is judged. */
    minReportingFraction: Type.Number({ minimum: 0, maximum: 1, default: 0.8 }),
  },
  { additionalProperties: false },
);
export type GateConfig = Static<typeof GateConfigSchema>;

export const DEFAULT_GATE: GateConfig = {
  minInstallSuccessRate: 0.95,
  maxUnhealthyFraction: 0.05,
  maxRateRatio: 2,
  crashesPerDeviceHourFloor: 0.5,
  errorRateFloor: 0.01,
  minReportingFraction: 0.8,
};

/** Execution counts of the wave's job, as ListJobExecutionsForJob / job process details give them. */
export interface WaveInstallCounts {
  readonly targeted: number;
  readonly queued: number;
  readonly inProgress: number;
  readonly succeeded: number;
  /** FAILED, TIMED_OUT, REJECTED, REMOVED and CANCELED together: every settled execution that is not a success. */
  readonly failed: number;
}

/** Sums over a set of devices' health reports (counters since boot, uptime since boot). */
export interface HealthSample {
  readonly devices: number;
  readonly unhealthy: number;
  readonly uptimeSeconds: number;
  readonly crashes: number;
  readonly restarts: number;
  readonly errors: number;
  readonly requests: number;
}

export interface GateInput {
  readonly install: WaveInstallCounts;
  /** Reports of this wave's updated devices since their update. */
  readonly updated: HealthSample;
  /** The same devices' reports from before their update. */
  readonly updatedBefore: HealthSample | undefined;
  /** Devices in the target not updated yet. */
  readonly notUpdated: HealthSample | undefined;
  /** Whether the wave's soak time has passed since its executions settled. */
  readonly soaked: boolean;
}

export interface GateFinding {
  readonly gate: 'install-success' | 'unhealthy' | 'crash-rate' | 'restart-rate' | 'error-rate' | 'reporting';
  readonly observed: number;
  readonly threshold: number;
  readonly passed: boolean;
  /** The finding in words an operator can act on. */
  readonly message: string;
}

export type GateVerdict =
  | { readonly decision: 'wait'; readonly waitingFor: string; readonly findings: readonly GateFinding[] }
  | { readonly decision: 'pass' | 'breach'; readonly findings: readonly GateFinding[] };

const hours = (s: HealthSample): number => s.uptimeSeconds / 3600;
const perHour = (count: number, s: HealthSample): number => (hours(s) > 0 ? count / hours(s) : 0);
const errorRate = (s: HealthSample): number => (s.requests > 0 ? s.errors / s.requests : 0);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function rateFinding(
  gate: 'crash-rate' | 'restart-rate' | 'error-rate',
  rate: (s: HealthSample) => number,
  floor: number,
  input: GateInput,
  config: GateConfig,
): GateFinding {
  const observed = rate(input.updated);
  const baselines = [input.updatedBefore, input.notUpdated].filter(
    (s): s is HealthSample => s !== undefined && s.devices > 0,
  );
  const baseline = Math.max(0, ...baselines.map(rate));
  const threshold = Math.max(floor, baseline * config.maxRateRatio);
  const unit = gate === 'error-rate' ? 'errors per request' : `${gate.replace('-rate', 'es')} per device-hour`;
  const passed = observed <= threshold;
  return {
    gate,
    observed,
    threshold,
    passed,
    message: `${gate}: ${observed.toFixed(3)} ${unit} on updated devices, ${passed ? 'within' : 'above'} ${threshold.toFixed(3)} (baseline ${baseline.toFixed(3)} × ${config.maxRateRatio}, floor ${floor})`,
  };
}

/** Judges a wave. Pure: the same input always gives the same verdict, so a restarted service decides the same. */
export function evaluateGate(input: GateInput, config: GateConfig = DEFAULT_GATE): GateVerdict {
  const { install } = input;
  const settled = install.succeeded + install.failed;
  const pending = install.queued + install.inProgress;
  // The success rate the wave can still reach if everything pending succeeds: below the minimum, stop now.
  const best = install.targeted === 0 ? 1 : (install.succeeded + pending) / install.targeted;
  const achieved = install.targeted === 0 ? 1 : install.succeeded / install.targeted;
  const installFinding: GateFinding = {
    gate: 'install-success',
    observed: pending > 0 ? best : achieved,
    threshold: config.minInstallSuccessRate,
    passed: best >= config.minInstallSuccessRate,
    message:
      pending > 0
        ? `install-success: ${install.failed} of ${install.targeted} failed so far; at best ${pct(best)} can succeed (minimum ${pct(config.minInstallSuccessRate)})`
        : `install-success: ${install.succeeded} of ${install.targeted} succeeded (${pct(achieved)}, minimum ${pct(config.minInstallSuccessRate)})`,
  };
  if (!installFinding.passed) return { decision: 'breach', findings: [installFinding] };
  if (pending > 0) {
    return {
      decision: 'wait',
      waitingFor: `${pending} of ${install.targeted} executions to settle`,
      findings: [installFinding],
    };
  }
  if (settled === 0 || install.succeeded === 0) return { decision: 'pass', findings: [installFinding] };

  const reporting = input.updated.devices / install.succeeded;
  const reportingFinding: GateFinding = {
    gate: 'reporting',
    observed: reporting,
    threshold: config.minReportingFraction,
    passed: reporting >= config.minReportingFraction,
    message: `reporting: ${input.updated.devices} of ${install.succeeded} updated devices reported health since their update (minimum ${pct(config.minReportingFraction)})`,
  };
  const unhealthy = input.updated.devices > 0 ? input.updated.unhealthy / input.updated.devices : 0;
  const health: GateFinding[] = [
    {
      gate: 'unhealthy',
      observed: unhealthy,
      threshold: config.maxUnhealthyFraction,
      passed: unhealthy <= config.maxUnhealthyFraction,
      message: `unhealthy: ${input.updated.unhealthy} of ${input.updated.devices} updated devices report unhealthy (${pct(unhealthy)}, maximum ${pct(config.maxUnhealthyFraction)})`,
    },
    rateFinding('crash-rate', (s) => perHour(s.crashes, s), config.crashesPerDeviceHourFloor, input, config),
    rateFinding('restart-rate', (s) => perHour(s.restarts, s), config.crashesPerDeviceHourFloor, input, config),
    rateFinding('error-rate', errorRate, config.errorRateFloor, input, config),
  ];
  const findings = [installFinding, reportingFinding, ...health];
  // Sickness already visible breaches at once; health is declared good only after the soak, with enough reports.
  if (health.some((f) => !f.passed)) return { decision: 'breach', findings };
  if (!input.soaked) return { decision: 'wait', waitingFor: 'the soak time to pass', findings };
  if (!reportingFinding.passed) {
    return { decision: 'wait', waitingFor: 'health reports from the updated devices', findings };
  }
  return { decision: 'pass', findings };
}

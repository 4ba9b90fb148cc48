import type { HealthCheckSpec, HealthChecks } from '@otafleet/protocol';
import type { AgentStatusSource, ApplicationSupervisor, HealthCheckRunner, HealthVerdict } from '../contracts.js';
import { DEFAULT_CRASH_LOOP_RULE, type CrashLoopRule } from '../supervisor/crash-loop.js';
import type { AgentClock } from '../update/ports.js';
import { checkBroker } from './broker-check.js';
import { describeCheck, type CheckFailure, type CheckOutcome } from './check-outcome.js';
import { runCommandCheck } from './command-check.js';
import { probeHttp } from './http-probe.js';
import { checkProcess } from './process-check.js';

export interface HealthRunnerOptions {
  readonly supervisor: ApplicationSupervisor;
  readonly clock: AgentClock;
  /** Broker connection and shadow sync, for the `mqtt` check. */
  readonly broker: AgentStatusSource['broker'];
  /** Unrequested application exits within a window that make CRASH_LOOP (counted from the start of the checks). */
  readonly crashLoop?: CrashLoopRule;
  /** Consecutive rounds in which a check answered "unhealthy" that fail the update before the deadline (default 3). */
  readonly failedRounds?: number;
}

interface RoundFailure extends CheckFailure {
  readonly check: string;
}

/** The verdict when the deadline came first: the last failure decides between FAILED and TIMEOUT. */
function atDeadline(
  checks: HealthChecks,
  last: RoundFailure | undefined,
  passes: number,
  budgetMs: number,
): HealthVerdict {
  const budget = `${Math.round(Math.max(0, budgetMs) / 1000)} s left at the start`;
  if (last === undefined) {
    return {
      healthy: false,
      reasonCode: 'HEALTH_CHECK_TIMEOUT',
      reason: `${passes} of ${checks.requiredPasses} passing rounds before the deadline (${budget})`,
    };
  }
  const reason = `${last.check}: ${last.detail}, at the deadline (${budget})`;
  return { healthy: false, reasonCode: last.definite ? 'HEALTH_CHECK_FAILED' : 'HEALTH_CHECK_TIMEOUT', reason };
}

/**
 * The health-check runner: rounds every `intervalSeconds` running all checks of the job document; `requiredPasses`
 * consecutive all-passing rounds are healthy. Verdicts: CRASH_LOOP when the crash-loop rule sees the application
 * looping; HEALTH_CHECK_FAILED when a check answered "unhealthy" `failedRounds` rounds in a row, or was still doing
 * so at the deadline; HEALTH_CHECK_TIMEOUT at the deadline otherwise, and when the signal aborts the run. Every
 * failure names its check and what it saw.
 */
export function createHealthCheckRunner(o: HealthRunnerOptions): HealthCheckRunner {
  const rule = o.crashLoop ?? DEFAULT_CRASH_LOOP_RULE;
  const failedLimit = o.failedRounds ?? 3;

  const runCheck = (spec: HealthCheckSpec, limitMs: number, signal: AbortSignal, since: number) => {
    switch (spec.kind) {
      case 'http':
        return probeHttp(spec, limitMs, signal);
      case 'command':
        return runCommandCheck(spec, limitMs, signal);
      case 'process':
        return checkProcess(spec, { supervisor: o.supervisor, since });
      case 'mqtt':
        return Promise.resolve(checkBroker(o.broker));
    }
  };

  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        o.clock.clearTimeout(t);
        resolve();
      };
      const t = o.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });

  return {
    async run(checks: HealthChecks, options): Promise<HealthVerdict> {
      const signal = options.signal ?? new AbortController().signal;
      const began = o.clock.now();
      const stopped = (): HealthVerdict => ({
        healthy: false,
        reasonCode: 'HEALTH_CHECK_TIMEOUT',
        reason: 'the health checks were stopped before they passed',
      });
      let passes = 0;
      let failedInARow = 0;
      let last: RoundFailure | undefined;
      let roundStart = began;
      for (let round = 0; ; round += 1) {
        if (signal.aborted) return stopped();
        const now = o.clock.now();
        // The first round runs even past the deadline (a restart found it spent); no fresh budget after that.
        if (round > 0 && now >= options.deadlineAt) return atDeadline(checks, last, passes, options.deadlineAt - began);
        const crashes = o.supervisor.crashesSince(Math.max(began, now - rule.windowMs));
        if (crashes >= rule.crashes) {
          return {
            healthy: false,
            reasonCode: 'CRASH_LOOP',
            reason: `the application exited ${crashes} times within ${Math.round(rule.windowMs / 1000)} s during the health checks`,
          };
        }
        const limitMs = Math.max(1, options.deadlineAt - now);
        const since = roundStart;
        roundStart = now;
        const outcomes: CheckOutcome[] = await Promise.all(
          checks.checks.map((c) => runCheck(c, limitMs, signal, since)),
        );
        if (signal.aborted) return stopped();
        const index = outcomes.findIndex((r) => !r.ok);
        const failure = outcomes[index];
        const spec = checks.checks[index];
        if (failure === undefined || failure.ok || spec === undefined) {
          passes += 1;
          failedInARow = 0;
          if (passes >= checks.requiredPasses) return { healthy: true, passes };
        } else {
          passes = 0;
          last = { ...failure, check: describeCheck(spec, index) };
          failedInARow = failure.definite ? failedInARow + 1 : 0;
          if (failedInARow >= failedLimit) {
            return {
              healthy: false,
              reasonCode: 'HEALTH_CHECK_FAILED',
              reason: `${last.check}: ${last.detail}, ${failedInARow} rounds in a row`,
            };
          }
        }
        const after = o.clock.now();
        if (after >= options.deadlineAt) return atDeadline(checks, last, passes, options.deadlineAt - began);
        await sleep(Math.min(checks.intervalSeconds * 1000, options.deadlineAt - after), signal);
      }
    },
  };
}

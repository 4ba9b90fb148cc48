import type { ApplicationSupervisor, HealthCheckRunner, HealthVerdict, AgentClock } from '@otafleet/agent';
import { DEFAULT_CRASH_LOOP_RULE } from '@otafleet/agent';
import type { DeviceFaults } from './contracts.js';

/**
 * The virtual application: no process. It "runs" the release in the booted slot; a release in the device's
 * `crashingVersions` crashes at every start, often enough for the agent's crash-loop rule to see it.
 */
export function virtualSupervisor(o: {
  readonly clock: AgentClock;
  readonly faults: DeviceFaults;
  /** The version in the booted slot now. */
  readonly runningVersion: () => string | undefined;
}): ApplicationSupervisor {
  const crashTimes: number[] = [];
  let since: number | undefined;
  const crashes = (): boolean => {
    const v = o.runningVersion();
    return v !== undefined && (o.faults.crashingVersions ?? []).includes(v);
  };
  const start = (): Promise<void> => {
    const now = o.clock.now();
    if (crashes()) {
      // Started, exited, restarted by the supervisor's backoff, exited again...: the crash-loop rule's count.
      since = undefined;
      for (let i = 0; i < DEFAULT_CRASH_LOOP_RULE.crashes; i++) crashTimes.push(now);
    } else {
      since = now;
    }
    return Promise.resolve();
  };
  return {
    start,
    restart: start,
    stop: () => Promise.resolve(void (since = undefined)),
    running: () => (since === undefined ? { running: false } : { running: true, since }),
    crashesSince: (t) => crashTimes.filter((c) => c >= t).length,
  };
}

/**
 * The virtual health checks: whatever the job document asks for, the answer is the device's fault list. A crashing
 * release is CRASH_LOOP (as the real runner decides from the supervisor's count); an unhealthy release fails its
 * checks, HEALTH_CHECK_FAILED after one interval; any other passes `requiredPasses` rounds, one interval apart, on
 * the device's clock. An aborted run is HEALTH_CHECK_TIMEOUT, as in the real runner.
 */
export function virtualHealthRunner(o: {
  readonly clock: AgentClock;
  readonly faults: DeviceFaults;
  readonly supervisor: ApplicationSupervisor;
  readonly runningVersion: () => string | undefined;
}): HealthCheckRunner {
  const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const onAbort = (): void => {
        o.clock.clearTimeout(t);
        resolve();
      };
      const t = o.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  return {
    async run(checks, options): Promise<HealthVerdict> {
      const began = o.clock.now();
      const timeout: HealthVerdict = {
        healthy: false,
        reasonCode: 'HEALTH_CHECK_TIMEOUT',
        reason: 'the health checks were stopped before they passed',
      };
      const version = o.runningVersion() ?? 'unknown';
      const intervalMs = checks.intervalSeconds * 1000;
      const crashes = o.supervisor.crashesSince(Math.max(0, began - DEFAULT_CRASH_LOOP_RULE.windowMs));
      if (crashes >= DEFAULT_CRASH_LOOP_RULE.crashes) {
        return {
          healthy: false,
          reasonCode: 'CRASH_LOOP',
          reason: `virtual application ${version} exited ${crashes} times at start`,
        };
      }
      if ((o.faults.unhealthyVersions ?? []).includes(version)) {
        await sleep(Math.min(intervalMs, Math.max(0, options.deadlineAt - began)), options.signal);
        if (options.signal?.aborted === true) return timeout;
        const first = checks.checks[0]?.kind ?? 'check';
        return {
          healthy: false,
          reasonCode: 'HEALTH_CHECK_FAILED',
          reason: `${first}: virtual release ${version} answers unhealthy`,
        };
      }
      for (let pass = 1; pass <= checks.requiredPasses; pass++) {
        if (pass > 1) await sleep(intervalMs, options.signal);
        if (options.signal?.aborted === true) return timeout;
        if (pass > 1 && o.clock.now() > options.deadlineAt) {
          return {
            healthy: false,
            reasonCode: 'HEALTH_CHECK_TIMEOUT',
            reason: `${pass - 1} of ${checks.requiredPasses} passing rounds before the deadline`,
          };
        }
      }
      return { healthy: true, passes: checks.requiredPasses };
    },
  };
}

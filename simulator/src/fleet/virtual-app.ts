import type { ApplicationSupervisor, HealthCheckRunner, HealthVerdict, AgentClock } from '@otafleet/agent';
import { DEFAULT_CRASH_LOOP_RULE } from '@otafleet/agent';
import type { DeviceFaults } from './contracts.js';

/**
 * The virtual application: no process. It "runs" the release in the booted slot; a release in the device's
 * `crashingVersions` crashes at every start, often enough for the agent's crash-loop rule to see it.
 */
export function virtualSupervisor(o: VirtualAppOptions): ApplicationSupervisor {
  return new VirtualSupervisor(o);
}

interface VirtualAppOptions {
  readonly clock: AgentClock;
  readonly faults: DeviceFaults;
  /** The version in the booted slot now. */
  readonly runningVersion: () => string | undefined;
}

/** A class (shared methods): one lives per virtual device. */
class VirtualSupervisor implements ApplicationSupervisor {
  readonly #o: VirtualAppOptions;
  readonly #crashTimes: number[] = [];
  #since: number | undefined;

  constructor(o: VirtualAppOptions) {
    this.#o = o;
  }

  #crashes(): boolean {
    const v = this.#o.runningVersion();
    return v !== undefined && (this.#o.faults.crashingVersions ?? []).includes(v);
  }

  start(): Promise<void> {
    const now = this.#o.clock.now();
    if (this.#crashes()) {
      // Started, exited, restarted by the supervisor's backoff, exited again...: the crash-loop rule's count.
      this.#since = undefined;
      for (let i = 0; i < DEFAULT_CRASH_LOOP_RULE.crashes; i++) this.#crashTimes.push(now);
    } else {
      this.#since = now;
    }
    return Promise.resolve();
  }

  restart(): Promise<void> {
    return this.start();
  }

  stop(): Promise<void> {
    this.#since = undefined;
    return Promise.resolve();
  }

  running(): ReturnType<ApplicationSupervisor['running']> {
    const since = this.#since;
    return since === undefined ? { running: false } : { running: true, since };
  }

  crashesSince(t: number): number {
    return this.#crashTimes.filter((c) => c >= t).length;
  }
}

/**
 * The virtual health checks: whatever the job document asks for, the answer is the device's fault list. A crashing
 * release is CRASH_LOOP (as the real runner decides from the supervisor's count); an unhealthy release fails its
 * checks, HEALTH_CHECK_FAILED after one interval; any other passes `requiredPasses` rounds, one interval apart, on
 * the device's clock. An aborted run is HEALTH_CHECK_TIMEOUT, as in the real runner.
 */
export function virtualHealthRunner(
  o: VirtualAppOptions & { readonly supervisor: ApplicationSupervisor },
): HealthCheckRunner {
  return new VirtualHealthRunner(o);
}

class VirtualHealthRunner implements HealthCheckRunner {
  readonly #o: VirtualAppOptions & { readonly supervisor: ApplicationSupervisor };

  constructor(o: VirtualAppOptions & { readonly supervisor: ApplicationSupervisor }) {
    this.#o = o;
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const clock = this.#o.clock;
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const onAbort = (): void => {
        clock.clearTimeout(t);
        resolve();
      };
      const t = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async run(...[checks, options]: Parameters<HealthCheckRunner['run']>): Promise<HealthVerdict> {
    const o = this.#o;
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
      await this.#sleep(Math.min(intervalMs, Math.max(0, options.deadlineAt - began)), options.signal);
      if (options.signal?.aborted === true) return timeout;
      const first = checks.checks[0]?.kind ?? 'check';
      return {
        healthy: false,
        reasonCode: 'HEALTH_CHECK_FAILED',
        reason: `${first}: virtual release ${version} answers unhealthy`,
      };
    }
    for (let pass = 1; pass <= checks.requiredPasses; pass++) {
      if (pass > 1) await this.#sleep(intervalMs, options.signal);
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
  }
}

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { HealthCheckSpec, HealthChecks } from '@otafleet/protocol';
import type { ApplicationSupervisor, HealthCheckRunner, HealthVerdict } from '../contracts.js';
import type { AgentClock } from './ports.js';

export interface MinimalHealthOptions {
  readonly supervisor: ApplicationSupervisor;
  readonly clock: AgentClock;
  /** Whether the broker connection is up (the `mqtt` check). */
  readonly brokerConnected: () => boolean;
  /** Unrequested exits since the checks began that make a crash loop (default 3). */
  readonly crashLoopExits?: number;
  /** Consecutive rounds in which a check answered "unhealthy" that fail the update early (default 3). */
  readonly failedRounds?: number;
}

type CheckResult = { readonly ok: true } | { readonly ok: false; readonly definite: boolean; readonly detail: string };

const pass: CheckResult = { ok: true };

async function httpCheck(c: Extract<HealthCheckSpec, { kind: 'http' }>): Promise<CheckResult> {
  try {
    const res = await fetch(c.url, { signal: AbortSignal.timeout((c.timeoutSeconds ?? 5) * 1000) });
    await res.arrayBuffer();
    const good = c.expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === c.expectStatus;
    return good ? pass : { ok: false, definite: true, detail: `${c.url} answered ${res.status}` };
  } catch (e) {
    return { ok: false, definite: false, detail: `${c.url}: ${(e as Error).message}` };
  }
}

function commandCheck(c: Extract<HealthCheckSpec, { kind: 'command' }>): Promise<CheckResult> {
  const [cmd, ...args] = c.argv;
  return new Promise((resolve) => {
    execFile(cmd ?? '/bin/false', args, { timeout: c.timeoutSeconds * 1000 }, (e) =>
      resolve(e === null ? pass : { ok: false, definite: true, detail: `${c.argv.join(' ')}: ${e.message}` }),
    );
  });
}

async function processCheck(
  c: Extract<HealthCheckSpec, { kind: 'process' }>,
  supervisor: ApplicationSupervisor,
): Promise<CheckResult> {
  if (c.pidFile !== undefined) {
    try {
      const pid = Number((await readFile(c.pidFile, 'utf8')).trim());
      process.kill(pid, 0);
      return pass;
    } catch (e) {
      return { ok: false, definite: false, detail: `${c.pidFile}: ${(e as Error).message}` };
    }
  }
  return supervisor.running().running ? pass : { ok: false, definite: false, detail: 'the application is not running' };
}

/**
 * A small health-check runner behind the HealthCheckRunner contract, used when the device-facing parts' runner
 * (src/health) is not wired. Rounds every `intervalSeconds`; `requiredPasses` consecutive passing rounds are
 * healthy. CRASH_LOOP when the application exited unrequested `crashLoopExits` times since the checks began;
 * HEALTH_CHECK_FAILED when a check answered "unhealthy" in `failedRounds` consecutive rounds (or at the deadline);
 * HEALTH_CHECK_TIMEOUT when the deadline passed with checks that never answered.
 */
export function createMinimalHealthRunner(o: MinimalHealthOptions): HealthCheckRunner {
  const crashLimit = o.crashLoopExits ?? 3;
  const failedLimit = o.failedRounds ?? 3;
  const runCheck = (c: HealthCheckSpec): Promise<CheckResult> => {
    switch (c.kind) {
      case 'http':
        return httpCheck(c);
      case 'command':
        return commandCheck(c);
      case 'process':
        return processCheck(c, o.supervisor);
      case 'mqtt':
        return Promise.resolve(
          o.brokerConnected() ? pass : { ok: false, definite: false, detail: 'not connected to the broker' },
        );
    }
  };
  return {
    async run(checks: HealthChecks, options): Promise<HealthVerdict> {
      const began = o.clock.now();
      let passes = 0;
      let failedInARow = 0;
      let last: Extract<CheckResult, { ok: false }> | undefined;
      for (;;) {
        if (options.signal?.aborted === true) {
          return { healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT', reason: 'the health checks were stopped' };
        }
        if (o.supervisor.crashesSince(began) >= crashLimit) {
          return {
            healthy: false,
            reasonCode: 'CRASH_LOOP',
            reason: `the application exited ${o.supervisor.crashesSince(began)} times since the switch`,
          };
        }
        const results = await Promise.all(checks.checks.map(runCheck));
        const failed = results.find((r): r is Extract<CheckResult, { ok: false }> => !r.ok);
        if (failed === undefined) {
          passes += 1;
          failedInARow = 0;
          if (passes >= checks.requiredPasses) return { healthy: true, passes };
        } else {
          passes = 0;
          last = failed;
          failedInARow = failed.definite ? failedInARow + 1 : 0;
          if (failedInARow >= failedLimit) {
            return {
              healthy: false,
              reasonCode: 'HEALTH_CHECK_FAILED',
              reason: `${failed.detail} in ${failedInARow} rounds in a row`,
            };
          }
        }
        const now = o.clock.now();
        if (now >= options.deadlineAt) {
          const reason = `${last?.detail ?? 'the checks did not pass'} until the ${Math.round((options.deadlineAt - began) / 1000)} s deadline`;
          return last?.definite === true
            ? { healthy: false, reasonCode: 'HEALTH_CHECK_FAILED', reason }
            : { healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT', reason };
        }
        await new Promise<void>((resolve) => {
          const t = o.clock.setTimeout(
            resolve,
            Math.min(checks.intervalSeconds * 1000, Math.max(0, options.deadlineAt - now)),
          );
          options.signal?.addEventListener(
            'abort',
            () => {
              o.clock.clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      }
    },
  };
}

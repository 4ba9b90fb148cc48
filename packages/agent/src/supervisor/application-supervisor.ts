import { spawn, type ChildProcess } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import type { HealthCounters } from '@otafleet/protocol';
import type { Logger } from 'pino';
import type { ApplicationSupervisor, HealthCounterSource } from '../contracts.js';
import type { AgentClock } from '../update/ports.js';
import { crashLoopIn, DEFAULT_CRASH_LOOP_RULE, type CrashLoopRule } from './crash-loop.js';
import { DEFAULT_RESTART_BACKOFF, RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js';

export interface ApplicationSupervisorOptions {
  /** argv of the application (argv[0] found on PATH). */
  readonly command: readonly string[];
  /** The directory it runs in: the slot link, resolved at each start so a switch takes effect on the next start. */
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly clock: AgentClock;
  readonly logger: Logger;
  /** Between SIGTERM and SIGKILL when stopping (default 5 s). */
  readonly stopGraceMs?: number;
  readonly backoff?: RestartBackoffOptions;
  readonly crashLoop?: CrashLoopRule;
}

/** The supervisor the agent runs: the contract, the health report's counters, SIGHUP and the crash-loop view. */
export interface SupervisedApplication extends ApplicationSupervisor, HealthCounterSource {
  /** Forwards SIGHUP (the configuration changed); false when nothing runs. */
  reload(): boolean;
  /** The crash loop the rule sees now, if any. */
  crashLoop(): { readonly crashes: number; readonly windowMs: number } | undefined;
}

interface Running {
  readonly proc: ChildProcess;
  readonly startedAt: number;
  readonly exited: Promise<void>;
}

/**
 * Runs the application from the active slot as a child process. An exit it did not ask for is a crash: counted,
 * logged, and followed by a restart after a capped backoff. stop() sends SIGTERM and SIGKILL after the grace period.
 * crashesSince() counts every unrequested exit (the crash-loop rule: even exit 0 means the application is gone);
 * counters().crashes only the abnormal ones (a signal or a non-zero status), as the health report defines it.
 */
export function createApplicationSupervisor(o: ApplicationSupervisorOptions): SupervisedApplication {
  const graceMs = o.stopGraceMs ?? 5_000;
  const rule = o.crashLoop ?? DEFAULT_CRASH_LOOP_RULE;
  const backoff = new RestartBackoff(o.backoff ?? DEFAULT_RESTART_BACKOFF);
  const crashTimes: number[] = [];
  let current: Running | undefined;
  let wanted = false;
  let spawns = 0;
  let abnormalExits = 0;
  let restartTimer: ReturnType<AgentClock['setTimeout']> | undefined;
  // Bumped by every stop: a start that was awaiting the slot link when stop() or restart() came gives way.
  let generation = 0;

  const cancelRestart = (): void => {
    if (restartTimer !== undefined) o.clock.clearTimeout(restartTimer);
    restartTimer = undefined;
  };

  const onUnrequestedExit = (startedAt: number, code: number | null, signal: NodeJS.Signals | null): void => {
    const now = o.clock.now();
    crashTimes.push(now);
    if (crashTimes.length > 1_000) crashTimes.splice(0, crashTimes.length - 1_000);
    if (signal !== null || code !== 0) abnormalExits += 1;
    const delay = backoff.delayAfter(now - startedAt);
    o.logger.warn({ code, signal, restartInMs: delay }, 'application exited unrequested');
    cancelRestart();
    restartTimer = o.clock.setTimeout(() => {
      restartTimer = undefined;
      if (wanted && current === undefined) void spawnOnce();
    }, delay);
  };

  const spawnOnce = async (): Promise<void> => {
    const [cmd, ...args] = o.command;
    if (cmd === undefined) throw new Error('the application command is empty');
    const startedFor = generation;
    let cwd: string;
    try {
      cwd = await realpath(o.cwd);
    } catch (e) {
      if (startedFor !== generation || !wanted) return;
      o.logger.error({ err: e, cwd: o.cwd }, 'the active slot is not there; the application cannot start');
      onUnrequestedExit(o.clock.now(), null, null);
      return;
    }
    if (startedFor !== generation || !wanted || current !== undefined) return;
    const startedAt = o.clock.now();
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'inherit', 'inherit'] });
    spawns += 1;
    const exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        resolve();
        if (current?.proc !== proc) return; // stop() or restart() took it out: a requested exit
        current = undefined;
        if (wanted) onUnrequestedExit(startedAt, code, signal);
      };
      proc.once('exit', finish);
      // A spawn that fails (ENOENT, EACCES) emits 'error' and never 'exit'.
      proc.once('error', (e) => {
        o.logger.error({ err: e, command: o.command }, 'the application could not be started');
        if (proc.pid === undefined) finish(null, null);
      });
    });
    current = { proc, startedAt, exited };
    if (proc.pid !== undefined) o.logger.info({ pid: proc.pid, cwd }, 'application started');
  };

  const stopCurrent = async (): Promise<void> => {
    generation += 1;
    cancelRestart();
    const run = current;
    current = undefined;
    if (run === undefined) return;
    const { proc } = run;
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => {
        o.logger.warn({ pid: proc.pid, graceMs }, 'application ignored SIGTERM; sending SIGKILL');
        proc.kill('SIGKILL');
      }, graceMs);
      await run.exited;
      clearTimeout(killer);
    }
  };

  return {
    async start() {
      wanted = true;
      if (current === undefined && restartTimer === undefined) await spawnOnce();
    },
    async restart() {
      wanted = true;
      backoff.reset();
      await stopCurrent();
      await spawnOnce();
    },
    async stop() {
      wanted = false;
      await stopCurrent();
    },
    reload() {
      const pid = current?.proc.pid;
      if (pid === undefined) return false;
      return current?.proc.kill('SIGHUP') ?? false;
    },
    running() {
      const run = current;
      if (run === undefined || run.proc.pid === undefined) return { running: false };
      return { running: true, since: run.startedAt, pid: run.proc.pid };
    },
    crashesSince: (t) => crashTimes.filter((c) => c >= t).length,
    crashLoop: () => crashLoopIn(crashTimes, o.clock.now(), rule),
    counters(): HealthCounters {
      return { processRestarts: Math.max(0, spawns - 1), crashes: abnormalExits, errors: 0, requests: 0 };
    },
  };
}

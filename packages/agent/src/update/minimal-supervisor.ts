import { spawn, type ChildProcess } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ApplicationSupervisor } from '../contracts.js';
import type { AgentClock } from './ports.js';

export interface MinimalSupervisorOptions {
  /** argv of the application (argv[0] found on PATH). */
  readonly command: readonly string[];
  /** The directory it runs in: the slot link (resolved at each start, so a switch takes effect on restart). */
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly clock: AgentClock;
  readonly logger: Logger;
  /** Grace period between SIGTERM and SIGKILL (default 5 s). */
  readonly stopGraceMs?: number;
}

/**
 * A small application supervisor behind the ApplicationSupervisor contract, used when the device-facing parts'
 * supervisor (src/app) is not wired: spawns the application from the active slot, restarts it after an unrequested
 * exit (1 s, doubling to 16 s), and remembers when it crashed.
 */
export function createMinimalSupervisor(o: MinimalSupervisorOptions): ApplicationSupervisor {
  let child: ChildProcess | undefined;
  let since: number | undefined;
  let wanted = false;
  let backoff = 1_000;
  let restartTimer: ReturnType<AgentClock['setTimeout']> | undefined;
  const crashes: number[] = [];

  const spawnOnce = async (): Promise<void> => {
    const cwd = await realpath(o.cwd);
    const [cmd, ...args] = o.command;
    if (cmd === undefined) throw new Error('application command is empty');
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child = proc;
    since = o.clock.now();
    o.logger.info({ pid: proc.pid, cwd }, 'application started');
    proc.on('exit', (code, signal) => {
      if (child !== proc) return;
      child = undefined;
      if (!wanted) return;
      crashes.push(o.clock.now());
      o.logger.warn({ code, signal, restartInMs: backoff }, 'application exited unrequested');
      restartTimer = o.clock.setTimeout(() => {
        restartTimer = undefined;
        if (wanted && child === undefined)
          spawnOnce().catch((e: unknown) => o.logger.error({ err: e }, 'application restart failed'));
      }, backoff);
      backoff = Math.min(16_000, backoff * 2);
    });
    proc.on('error', (e) => o.logger.error({ err: e }, 'application spawn failed'));
  };

  const stopChild = async (): Promise<void> => {
    if (restartTimer !== undefined) o.clock.clearTimeout(restartTimer);
    restartTimer = undefined;
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), o.stopGraceMs ?? 5_000);
    await exited;
    clearTimeout(timer);
  };

  return {
    async start() {
      wanted = true;
      if (child === undefined) await spawnOnce();
    },
    async restart() {
      wanted = true;
      backoff = 1_000;
      await stopChild();
      await spawnOnce();
    },
    async stop() {
      wanted = false;
      await stopChild();
    },
    running() {
      const c = child;
      return c === undefined
        ? { running: false }
        : { running: true, ...(since === undefined ? {} : { since }), ...(c.pid === undefined ? {} : { pid: c.pid }) };
    },
    crashesSince: (t) => crashes.filter((c) => c >= t).length,
  };
}

import { readdir, readFile } from 'node:fs/promises';
import type { HealthCheckSpec } from '@otafleet/protocol';
import type { ApplicationSupervisor } from '../contracts.js';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

type ProcessCheck = Extract<HealthCheckSpec, { kind: 'process' }>;

/** The kernel keeps at most 15 bytes of a process name in /proc/PID/comm. */
const COMM_LENGTH = 15;

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie still answers signal 0, but it has exited: state Z (or X) after the parenthesised name.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  const state = stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

async function processNamed(name: string): Promise<boolean> {
  const wanted = name.slice(0, COMM_LENGTH);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => undefined);
    if (comm?.trimEnd() === wanted) return true;
  }
  return false;
}

async function pidFromFile(path: string): Promise<number | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return `cannot read the pid file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : `the pid file holds ${JSON.stringify(text.trim().slice(0, 32))}`;
}

export interface ProcessCheckContext {
  readonly supervisor: ApplicationSupervisor;
  /** When the previous round began: an exit of the supervised application since then fails this round. */
  readonly since: number;
}

/** A named process, the process in a pid file, or (with neither) the supervised application staying up. */
export async function checkProcess(check: ProcessCheck, ctx: ProcessCheckContext): Promise<CheckOutcome> {
  if (check.name !== undefined) {
    return (await processNamed(check.name)) ? passed : failed(true, `no process named ${check.name} runs`);
  }
  if (check.pidFile !== undefined) {
    const pid = await pidFromFile(check.pidFile);
    if (typeof pid === 'string') return failed(true, pid);
    return (await pidAlive(pid)) ? passed : failed(true, `process ${pid} is not running`);
  }
  // Not definite: the supervisor restarts it, and the crash-loop rule decides when restarting is hopeless.
  const exits = ctx.supervisor.crashesSince(ctx.since);
  if (!ctx.supervisor.running().running) return failed(false, 'the application is not running');
  if (exits > 0) return failed(false, `the application exited ${exits} times since the last round`);
  return passed;
}

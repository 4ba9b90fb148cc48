import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Another live process (or this one) holds the data directory. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
    hint: string,
  ) {
    super(
      `${dir} is in use by ${holder.program} (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt}). ` +
        `Stop that process, or ${hint}.`,
    );
  }
}

export interface LockHolder {
  readonly program: string;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Whether a stale lock of a dead process was taken over. */
  readonly tookOver: LockHolder | undefined;
  release(): void;
}

const LOCK_FILE = '.lock';
const heldInThisProcess = new Set<string>();

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
};

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.hostname !== 'string') return undefined;
    return {
      program: typeof parsed.program === 'string' ? parsed.program : 'unknown',
      pid: parsed.pid,
      hostname: parsed.hostname,
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/**
 * Takes `dir/.lock` for this process, so two processes never share one data directory (two writers on one SQLite
 * file and one CA would each believe they own it). The lock file holds who took it; a lock left by a process that
 * is gone (power cut, SIGKILL) on this host is taken over. `hint` completes "Stop that process, or …".
 */
export function lockDataDir(dir: string, program: string, hint = 'choose another --data-dir'): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { program, pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  if (heldInThisProcess.has(path)) throw new DataDirLockedError(dir, readHolder(path) ?? me, hint);
  let tookOver: LockHolder | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      heldInThisProcess.add(path);
      let released = false;
      return {
        path,
        tookOver,
        release(): void {
          if (released) return;
          released = true;
          heldInThisProcess.delete(path);
          if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(path);
      const stale =
        holder === undefined
          ? true
          : holder.hostname === me.hostname && holder.pid !== process.pid && !isAlive(holder.pid);
      if (!stale || attempt > 0) throw new DataDirLockedError(dir, holder ?? me, hint);
      tookOver = holder;
      rmSync(path, { force: true });
    }
  }
  throw new Error('unreachable');
}

/** Who holds `dir` now (a live process on this host), without taking the lock: for status tools. */
export function dataDirHolder(dir: string): LockHolder | undefined {
  const holder = readHolder(join(dir, LOCK_FILE));
  if (holder === undefined) return undefined;
  return holder.hostname !== hostname() || isAlive(holder.pid) ? holder : undefined;
}

import { spawn } from 'node:child_process';
import type { HealthCheckSpec } from '@otafleet/protocol';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

type CommandCheck = Extract<HealthCheckSpec, { kind: 'command' }>;

/**
 * Runs the program directly (no shell) in its own process group; exit 0 within the timeout passes. On timeout or
 * abort the whole group gets SIGKILL, so a check that forked cannot outlive its verdict.
 */
export function runCommandCheck(check: CommandCheck, limitMs: number, signal: AbortSignal): Promise<CheckOutcome> {
  const [cmd, ...args] = check.argv;
  const timeoutMs = Math.max(1, Math.min(check.timeoutSeconds * 1000, limitMs));
  return new Promise((resolve) => {
    if (cmd === undefined) {
      resolve(failed(true, 'empty argv'));
      return;
    }
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 512) stderr += s;
    });
    let killedFor: 'timeout' | 'abort' | undefined;
    const killGroup = (why: 'timeout' | 'abort'): void => {
      killedFor ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
    const onAbort = (): void => killGroup('abort');
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (outcome: CheckOutcome): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    child.once('error', (e) => done(failed(true, `could not run: ${e.message}`)));
    child.once('close', (code, sig) => {
      if (killedFor === 'timeout') return done(failed(true, `killed after the ${timeoutMs} ms timeout`));
      if (killedFor === 'abort') return done(failed(false, 'stopped'));
      if (code === 0) return done(passed);
      const tail = stderr.trim().split('\n').pop();
      const how = sig !== null ? `killed by ${sig}` : `exited ${code}`;
      done(failed(true, tail === undefined || tail === '' ? how : `${how}: ${tail}`));
    });
  });
}

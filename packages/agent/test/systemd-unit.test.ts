/**
 * The checked-in unit: systemd's own `systemd-analyze verify` accepts it, and it asks for what the agent implements
 * (the notify protocol from a child process, the watchdog, SIGTERM to the agent only, no restart loop on exit 2).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';

const UNIT = fileURLToPath(new URL('../systemd/otaagent.service', import.meta.url));
const text = readFileSync(UNIT, 'utf8');
const directive = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim();

describe('systemd/otaagent.service', () => {
  it('passes systemd-analyze verify', async () => {
    const r = await promisify(execFile)('systemd-analyze', ['verify', UNIT]).then(
      (o) => ({ ok: true, stderr: o.stderr }),
      (e: Error & { stderr?: string }) => ({ ok: false, stderr: e.stderr ?? e.message }),
    );
    expect(r).toEqual({ ok: true, stderr: '' });
  });

  it('asks for the notify protocol, the watchdog and the shutdown the agent implements', () => {
    expect(directive('Type')).toBe('notify');
    expect(directive('NotifyAccess')).toBe('all'); // systemd-notify, a child of the agent, sends the datagrams
    expect(Number(directive('WatchdogSec'))).toBeGreaterThanOrEqual(10);
    expect(directive('KillMode')).toBe('mixed');
    expect(directive('RestartPreventExitStatus')).toBe(String(EXIT.usage));
    expect(directive('ExecStart')).toMatch(/^\/usr\/bin\/node( --\S+)* \S+\/bin\/otaagent\.js run --config \S+$/);
  });
});

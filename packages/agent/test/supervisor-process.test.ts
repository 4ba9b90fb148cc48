import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  renameSync,
} from 'node:fs';
import { readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApplicationSupervisor, type SupervisedApplication } from '../src/supervisor/index.js';
import { systemAgentClock } from '../src/update/ports.js';

// Real child processes and real signals: the "application" is a small node script in a slot directory.
const logger = pino({ level: 'silent' });
const APP = `
const fs = require('node:fs');
const mode = fs.readFileSync('mode', 'utf8').trim();
fs.appendFileSync(process.env.LOG, 'start ' + process.pid + ' ' + process.cwd() + '\\n');
process.on('SIGHUP', () => fs.appendFileSync(process.env.LOG, 'hup\\n'));
process.on('SIGTERM', () => {
  fs.appendFileSync(process.env.LOG, 'term\\n');
  if (mode !== 'stubborn') process.exit(0);
});
if (mode === 'crash') setTimeout(() => process.exit(3), 50);
setInterval(() => undefined, 1000);
`;

let dirs: string[] = [];
let supervisors: SupervisedApplication[] = [];
afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
  supervisors = [];
});

function device(mode: 'steady' | 'crash' | 'stubborn') {
  const root = mkdtempSync(join(tmpdir(), 'supervisor-'));
  dirs.push(root);
  for (const slot of ['A', 'B']) {
    mkdirSync(join(root, slot));
    writeFileSync(join(root, slot, 'app.cjs'), APP);
    writeFileSync(join(root, slot, 'mode'), mode);
  }
  symlinkSync('A', join(root, 'current'));
  const log = join(root, 'app.log');
  writeFileSync(log, '');
  const lines = (): string[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  return { root, log, lines };
}

function supervise(root: string, log: string, extra: { stopGraceMs?: number } = {}): SupervisedApplication {
  const s = createApplicationSupervisor({
    command: [process.execPath, 'app.cjs'],
    cwd: join(root, 'current'),
    env: { LOG: log },
    clock: systemAgentClock,
    logger,
    backoff: { initialMs: 50, maxMs: 200, stableMs: 60_000 },
    crashLoop: { crashes: 3, windowMs: 60_000 },
    ...extra,
  });
  supervisors.push(s);
  return s;
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('application supervisor (real processes)', () => {
  it('runs the application in the active slot and restarts from the new slot after a switch', async () => {
    const d = device('steady');
    const s = supervise(d.root, d.log);
    await s.start();
    await until('first start', () => d.lines().length === 1);
    const first = s.running();
    expect(first.running).toBe(true);
    expect(d.lines()[0]).toBe(`start ${first.pid} ${join(d.root, 'A')}`);

    rmSync(join(d.root, 'current'));
    symlinkSync('B', join(d.root, 'current'));
    expect(await readlink(join(d.root, 'current'))).toBe('B');
    await s.restart();
    await until('start from B', () => d.lines().some((l) => l.endsWith(join(d.root, 'B'))));
    expect(alive(first.pid!)).toBe(false);
    expect(s.running().pid).not.toBe(first.pid);
    expect(s.counters()).toEqual({ processRestarts: 1, crashes: 0, errors: 0, requests: 0 });
    expect(s.crashesSince(0)).toBe(0);
  });

  it('restarts an application that exits, counts the crashes and sees a crash loop', async () => {
    const d = device('crash');
    const s = supervise(d.root, d.log);
    const began = Date.now();
    await s.start();
    await until('three crashes', () => s.crashesSince(began) >= 3);
    expect(s.crashLoop()?.crashes).toBeGreaterThanOrEqual(3);
    expect(s.counters().crashes).toBeGreaterThanOrEqual(3);
    expect(s.counters().processRestarts).toBeGreaterThanOrEqual(2);
    expect(d.lines().filter((l) => l.startsWith('start')).length).toBeGreaterThanOrEqual(3);
    await s.stop();
    const starts = d.lines().length;
    await new Promise((r) => setTimeout(r, 600)); // longer than the capped backoff: nothing restarts after stop
    expect(d.lines().length).toBe(starts);
    expect(s.running().running).toBe(false);
  });

  it('forwards SIGHUP and stops gracefully with SIGTERM, without counting a crash', async () => {
    const d = device('steady');
    const s = supervise(d.root, d.log);
    await s.start();
    await until('start', () => d.lines().length === 1);
    // the handler is installed synchronously after the log line, so SIGHUP now reaches it
    expect(s.reload()).toBe(true);
    await until('hup', () => d.lines().includes('hup'));
    const pid = s.running().pid!;
    await s.stop();
    expect(d.lines()).toContain('term');
    expect(alive(pid)).toBe(false);
    expect(s.counters().crashes).toBe(0);
    expect(s.crashesSince(0)).toBe(0);
    expect(s.reload()).toBe(false);
  });

  it('sends SIGKILL to an application that ignores SIGTERM once the grace period ends', async () => {
    const d = device('stubborn');
    const s = supervise(d.root, d.log, { stopGraceMs: 300 });
    await s.start();
    await until('start', () => d.lines().length === 1);
    const pid = s.running().pid!;
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(d.lines()).toContain('term');
    expect(alive(pid)).toBe(false);
  });

  it('counts a command that cannot be spawned as a crash and keeps trying', async () => {
    const d = device('steady');
    const s = createApplicationSupervisor({
      command: [join(d.root, 'no-such-program')],
      cwd: join(d.root, 'current'),
      clock: systemAgentClock,
      logger,
      backoff: { initialMs: 50, maxMs: 100, stableMs: 60_000 },
    });
    supervisors.push(s);
    await s.start();
    await until('two failed starts', () => s.crashesSince(0) >= 2);
    expect(s.running().running).toBe(false);
    expect(s.counters().crashes).toBeGreaterThanOrEqual(2);
  });

  it('treats a missing slot link as a failed start, and starts once the link is back', async () => {
    const d = device('steady');
    renameSync(join(d.root, 'current'), join(d.root, 'current.away'));
    const s = supervise(d.root, d.log);
    await s.start();
    await until('a failed start', () => s.crashesSince(0) >= 1);
    expect(existsSync(join(d.root, 'current'))).toBe(false);
    renameSync(join(d.root, 'current.away'), join(d.root, 'current'));
    await until('start', () => d.lines().length === 1);
    expect(s.running().running).toBe(true);
  });
});

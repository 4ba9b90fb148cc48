import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HealthCheckSpec } from '@otafleet/protocol';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHealthCheckRunner } from '../src/health-checks/index.js';
import { createApplicationSupervisor, type SupervisedApplication } from '../src/supervisor/index.js';
import { systemAgentClock } from '../src/update/ports.js';

// Real HTTP server, real programs, real processes; the deadline is absolute epoch ms as the update flow journals it.
const logger = pino({ level: 'silent' });
const clock = systemAgentClock;
let server: Server;
let base: string;
const hanging: Array<() => void> = [];
const dir = mkdtempSync(join(tmpdir(), 'health-checks-'));
const children: ChildProcess[] = [];
let supervisors: SupervisedApplication[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') return res.writeHead(200).end('ok');
    if (req.url === '/empty') return res.writeHead(204).end();
    if (req.url === '/broken') return res.writeHead(500).end('broken');
    if (req.url === '/big') return res.writeHead(200).end(`${'x'.repeat(128 * 1024)}END`);
    if (req.url === '/hang') return void hanging.push(() => res.destroy());
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const h of hanging) h();
  await new Promise((r) => server.close(r));
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.stop()));
  supervisors = [];
});

function idleSupervisor(): SupervisedApplication {
  return createApplicationSupervisor({ command: ['/bin/true'], cwd: dir, clock, logger });
}

function runner(
  o: { broker?: { connected: boolean; shadowSynced: boolean }; supervisor?: SupervisedApplication } = {},
) {
  return createHealthCheckRunner({
    supervisor: o.supervisor ?? idleSupervisor(),
    clock,
    broker: () => o.broker ?? { connected: true, shadowSynced: true },
  });
}

const round = (checks: HealthCheckSpec[], requiredPasses = 1, deadlineSeconds = 20) => ({
  checks: { deadlineSeconds, requiredPasses, intervalSeconds: 1, checks },
  deadlineAt: Date.now() + deadlineSeconds * 1000,
});

async function run(r: ReturnType<typeof runner>, checks: HealthCheckSpec[], requiredPasses = 1, deadlineSeconds = 20) {
  const { checks: c, deadlineAt } = round(checks, requiredPasses, deadlineSeconds);
  return r.run(c, { deadlineAt });
}

/** Running, not a zombie waiting for a reaper (an orphan of a killed shell can be one for a while). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
};

describe('HTTP probe', () => {
  it('passes on 2xx for the required consecutive rounds', async () => {
    expect(await run(runner(), [{ kind: 'http', url: `${base}/ok` }], 2)).toEqual({ healthy: true, passes: 2 });
  });

  it('matches expectStatus exactly', async () => {
    expect(await run(runner(), [{ kind: 'http', url: `${base}/empty`, expectStatus: 204 }])).toEqual({
      healthy: true,
      passes: 1,
    });
    const v = await run(runner(), [{ kind: 'http', url: `${base}/ok`, expectStatus: 204 }]);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_FAILED' });
    expect(v.healthy ? '' : v.reason).toContain('answered 200, expected 204');
  });

  it('matches expectBody in the start of the body', async () => {
    expect(await run(runner(), [{ kind: 'http', url: `${base}/ok`, expectBody: 'ok' }])).toEqual({
      healthy: true,
      passes: 1,
    });
    const v = await run(runner(), [{ kind: 'http', url: `${base}/ok`, expectBody: 'ready' }]);
    expect(v).toEqual({
      healthy: false,
      reasonCode: 'HEALTH_CHECK_FAILED',
      reason: `check 1 (http ${base}/ok): answered 200 without "ready" in its body, 3 rounds in a row`,
    });
    // the marker past the first 64 KiB is not seen: the probe reads a bounded start of the body
    const big = await run(runner(), [{ kind: 'http', url: `${base}/big`, expectBody: 'END' }]);
    expect(big).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_FAILED' });
  });

  it('fails early on a definite 500 and names the check', async () => {
    const v = await run(runner(), [
      { kind: 'process', name: 'node' },
      { kind: 'http', url: `${base}/broken` },
    ]);
    expect(v).toEqual({
      healthy: false,
      reasonCode: 'HEALTH_CHECK_FAILED',
      reason: `check 2 (http ${base}/broken): answered 500, expected 2xx, 3 rounds in a row`,
    });
  });

  it('a probe that never answers ends at the deadline as HEALTH_CHECK_TIMEOUT, saying why', async () => {
    const v = await run(runner(), [{ kind: 'http', url: `${base}/hang`, timeoutSeconds: 1 }], 1, 5);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT' });
    expect(v.healthy ? '' : v.reason).toMatch(/check 1 \(http .*\/hang\): no answer within \d+ ms, at the deadline/);
  });

  it('a refused connection is not definite: HEALTH_CHECK_TIMEOUT at the deadline', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const v = await run(runner(), [{ kind: 'http', url: `http://127.0.0.1:${port}/health` }], 1, 5);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT' });
    expect(v.healthy ? '' : v.reason).toContain('ECONNREFUSED');
  });
});

describe('command check', () => {
  it('passes on exit 0, fails with the exit code and the last stderr line', async () => {
    expect(await run(runner(), [{ kind: 'command', argv: ['/bin/true'], timeoutSeconds: 5 }])).toEqual({
      healthy: true,
      passes: 1,
    });
    const v = await run(runner(), [
      { kind: 'command', argv: ['/bin/sh', '-c', 'echo disk full >&2; exit 4'], timeoutSeconds: 5 },
    ]);
    expect(v).toEqual({
      healthy: false,
      reasonCode: 'HEALTH_CHECK_FAILED',
      reason: 'check 1 (command /bin/sh -c echo disk full >&2; exit 4): exited 4: disk full, 3 rounds in a row',
    });
  });

  it('kills a command (and what it forked) that overruns its timeout', async () => {
    const pidFile = join(dir, 'slow.pid');
    const v = await run(runner(), [
      { kind: 'command', argv: ['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], timeoutSeconds: 1 },
    ]);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_FAILED' });
    expect(v.healthy ? '' : v.reason).toContain('killed after the 1000 ms timeout');
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(sleeper)).toBe(false);
  });

  it('a program that does not exist says so', async () => {
    const v = await run(runner(), [{ kind: 'command', argv: [join(dir, 'nope')], timeoutSeconds: 1 }]);
    expect(v.healthy ? '' : v.reason).toContain('could not run: spawn');
  });
});

describe('process check', () => {
  it('finds a process by name and by pid file, and says what is missing', async () => {
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    const pidFile = join(dir, 'sleeper.pid');
    writeFileSync(pidFile, `${sleeper.pid}\n`);
    expect(
      await run(runner(), [
        { kind: 'process', name: 'sleep' },
        { kind: 'process', pidFile },
      ]),
    ).toEqual({ healthy: true, passes: 1 });

    const missing = await run(runner(), [{ kind: 'process', name: 'no-such-proc' }]);
    expect(missing.healthy ? '' : missing.reason).toBe(
      'check 1 (process named no-such-proc): no process named no-such-proc runs, 3 rounds in a row',
    );
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    const dead = await run(runner(), [{ kind: 'process', pidFile }]);
    expect(dead.healthy ? '' : dead.reason).toContain(`process ${sleeper.pid} is not running`);
    writeFileSync(pidFile, 'garbage');
    const bad = await run(runner(), [{ kind: 'process', pidFile }]);
    expect(bad.healthy ? '' : bad.reason).toContain('the pid file holds "garbage"');
  });

  it('the supervised application that stays up passes; one in a crash loop is CRASH_LOOP', async () => {
    const root = join(dir, 'slots');
    mkdirSync(join(root, 'A'), { recursive: true });
    writeFileSync(join(root, 'A', 'up.cjs'), 'setInterval(() => undefined, 1000);');
    writeFileSync(join(root, 'A', 'down.cjs'), 'setTimeout(() => process.exit(1), 30);');
    symlinkSync('A', join(root, 'current'));
    const app = (script: string) => {
      const s = createApplicationSupervisor({
        command: [process.execPath, script],
        cwd: join(root, 'current'),
        clock,
        logger,
        backoff: { initialMs: 50, maxMs: 100, stableMs: 60_000 },
      });
      supervisors.push(s);
      return s;
    };
    const up = app('up.cjs');
    await up.start();
    expect(await run(runner({ supervisor: up }), [{ kind: 'process' }], 2)).toEqual({ healthy: true, passes: 2 });

    const down = app('down.cjs');
    await down.start();
    const v = await run(runner({ supervisor: down }), [{ kind: 'process' }], 2);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'CRASH_LOOP' });
    expect(v.healthy ? '' : v.reason).toMatch(/the application exited \d+ times within 60 s/);
  });
});

describe('mqtt check, deadline and abort', () => {
  it('needs both the connection and the shadow sync', async () => {
    expect(await run(runner(), [{ kind: 'mqtt' }])).toEqual({ healthy: true, passes: 1 });
    const v = await run(runner({ broker: { connected: true, shadowSynced: false } }), [{ kind: 'mqtt' }], 1, 5);
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT' });
    expect(v.healthy ? '' : v.reason).toContain('check 1 (mqtt (broker connection and shadow sync)): connected, but');
    const off = await run(runner({ broker: { connected: false, shadowSynced: false } }), [{ kind: 'mqtt' }], 1, 5);
    expect(off.healthy ? '' : off.reason).toContain('not connected to the broker');
  });

  it('a deadline that passed while the agent was down allows one round, not a fresh budget', async () => {
    const r = runner();
    const checks = { deadlineSeconds: 60, requiredPasses: 3, intervalSeconds: 1, checks: [{ kind: 'mqtt' as const }] };
    const t0 = Date.now();
    const v = await r.run(checks, { deadlineAt: t0 - 1000 });
    expect(v).toMatchObject({ healthy: false, reasonCode: 'HEALTH_CHECK_TIMEOUT' });
    expect(v.healthy ? '' : v.reason).toContain('1 of 3 passing rounds before the deadline');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('an abort ends a run at once with HEALTH_CHECK_TIMEOUT and kills a running command', async () => {
    const pidFile = join(dir, 'abort.pid');
    const ac = new AbortController();
    const { checks, deadlineAt } = round(
      [{ kind: 'command', argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], timeoutSeconds: 60 }],
      1,
      120,
    );
    const pending = runner().run(checks, { deadlineAt, signal: ac.signal });
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      try {
        if (readFileSync(pidFile, 'utf8').trim() !== '') break;
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    ac.abort();
    expect(await pending).toEqual({
      healthy: false,
      reasonCode: 'HEALTH_CHECK_TIMEOUT',
      reason: 'the health checks were stopped before they passed',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(Number(readFileSync(pidFile, 'utf8').trim()))).toBe(false);
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createProcessLogger,
  DataDirLockedError,
  explainListenError,
  lockDataDir,
  logFormatFrom,
  PortInUseError,
} from '@otafleet/runtime';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'runtime-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const collect = (): { stream: Writable; text: () => string } => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
};

describe('process logger', () => {
  it('is pretty on a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    expect(logFormatFrom({}, true)).toBe('pretty');
    expect(logFormatFrom({}, false)).toBe('json');
    expect(logFormatFrom({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatFrom({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(() => logFormatFrom({ LOG_FORMAT: 'xml' }, true)).toThrow(
      'LOG_FORMAT must be "pretty" or "json", got "xml"',
    );
  });

  it('writes structured JSON records, or the same records for people', () => {
    const json = collect();
    createProcessLogger({ name: 't', level: 'info', format: 'json', destination: json.stream }).info({ a: 1 }, 'hi');
    expect(JSON.parse(json.text())).toMatchObject({ name: 't', a: 1, msg: 'hi', level: 30 });
    const pretty = collect();
    createProcessLogger({ name: 't', level: 'info', format: 'pretty', destination: pretty.stream }).info(
      { a: 1 },
      'hi',
    );
    expect(pretty.text()).toContain('INFO');
    expect(pretty.text()).toContain('hi');
    expect(pretty.text()).toMatch(/a: 1/);
    expect(() => JSON.parse(pretty.text()) as unknown).toThrow();
  });
});

describe('data directory lock', () => {
  it('one holder at a time in a process; released, it can be taken again', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir, 'first');
    expect(() => lockDataDir(dir, 'second')).toThrow(DataDirLockedError);
    lock.release();
    lock.release(); // idempotent
    lockDataDir(dir, 'second').release();
  });

  it('refuses while another live process holds it, naming it', () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      const pid = holder.pid ?? 0;
      writeFileSync(
        join(dir, '.lock'),
        JSON.stringify({ program: 'iot-core', pid, hostname: hostname(), startedAt: '2026-12-01T00:00:00Z' }),
      );
      let error: unknown;
      try {
        lockDataDir(dir, 'me', 'choose another --data-dir');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DataDirLockedError);
      expect((error as Error).message).toContain(`in use by iot-core (pid ${pid}`);
      expect((error as Error).message).toContain('Stop that process, or choose another --data-dir.');
      expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'))).toMatchObject({ pid }); // unchanged
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone', () => {
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(gone.stdout);
    writeFileSync(join(dir, '.lock'), JSON.stringify({ program: 'old', pid, hostname: hostname(), startedAt: 'x' }));
    const lock = lockDataDir(dir, 'new');
    expect(lock.tookOver).toMatchObject({ program: 'old', pid });
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'))).toMatchObject({ program: 'new', pid: process.pid });
    lock.release();
  });
});

describe('listen errors', () => {
  it('EADDRINUSE on a known port names the setting; anything else passes through', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    const second = createServer();
    const failure = await new Promise<unknown>((resolve) => {
      second.once('error', resolve);
      second.listen(port, '127.0.0.1');
    });
    blocker.close();
    const settings = [{ port, flag: '--http-port', env: 'HTTP_PORT', what: 'HTTP API' }];
    const explained = explainListenError(failure, settings, '127.0.0.1');
    expect(explained).toBeInstanceOf(PortInUseError);
    expect((explained as Error).message).toContain(`HTTP API: port ${port} on 127.0.0.1 is already in use`);
    expect((explained as Error).message).toContain('--http-port (or HTTP_PORT)');
    const other = new Error('boom');
    expect(explainListenError(other, settings, '127.0.0.1')).toBe(other);
  });
});

describe('graceful shutdown', () => {
  const child = (closeMs: number, timeoutMs: number) => {
    const script = `
      import { createProcessLogger, runUntilSignal } from '@otafleet/runtime';
      const logger = createProcessLogger({ name: 'c', level: 'info', format: 'json' });
      const done = runUntilSignal({ close: () => new Promise((r) => setTimeout(r, ${closeMs})) }, { logger, timeoutMs: ${timeoutMs} });
      const work = setInterval(() => {}, 1000); // stands in for the servers that keep a real process alive
      logger.info('listening for signals');
      const code = await done;
      clearInterval(work);
      process.exit(code);
    `;
    const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    p.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    p.stderr.on('data', (d: Buffer) => lines.push(d.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    return { p, lines, exited };
  };
  const started = async (c: { lines: string[] }): Promise<void> => {
    for (let i = 0; i < 400 && !c.lines.some((l) => l.includes('listening for signals')); i++)
      await new Promise((r) => setTimeout(r, 25));
  };

  it('a repeated signal while closing does not cut the close short: exit 0', async () => {
    const c = child(400, 10_000);
    await started(c);
    c.p.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    c.p.kill('SIGINT');
    expect(await c.exited).toBe(0);
    expect(c.lines.some((l) => l.includes('already shutting down'))).toBe(true);
    expect(c.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  }, 20_000);

  it('startUntilSignal: a signal during the start waits for it, then closes what it made: exit 0', async () => {
    const script = `
      import { createProcessLogger, startUntilSignal } from '@otafleet/runtime';
      const logger = createProcessLogger({ name: 'c', level: 'info', format: 'json' });
      const { started, stopped, stopping } = startUntilSignal(async () => {
        logger.info('starting');
        await new Promise((r) => process.stdin.once('data', r)); // the test says when the start is over
        process.stdin.destroy();
        const work = setInterval(() => {}, 1000);
        logger.info('made');
        return { close: async () => { clearInterval(work); logger.info('closed what start made'); } };
      }, { logger });
      await started;
      logger.info({ stopping: stopping() }, 'start over');
      process.exit(await stopped);
    `;
    const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let signalled = false;
    let ended = false;
    p.stdout.on('data', (d: Buffer) => {
      lines.push(...d.toString().split('\n').filter(Boolean));
      if (!signalled && lines.some((l) => l.includes('"msg":"starting"'))) {
        signalled = true;
        p.kill('SIGTERM');
      }
      if (!ended && lines.some((l) => l.includes('"msg":"shutting down"'))) {
        ended = true;
        p.stdin.end('go\n'); // the signal was handled while starting: now let the start finish
      }
    });
    p.stderr.on('data', (d: Buffer) => lines.push(d.toString()));
    expect(await new Promise<number | null>((r) => p.once('exit', (code) => r(code)))).toBe(0);
    const msgs = lines.map((l) => JSON.parse(l) as { msg: string; stopping?: boolean });
    // 'start over' (the caller's line after `started`) may come before or after the close: both wait on it.
    expect(msgs.map((m) => m.msg).filter((m) => m !== 'start over')).toEqual([
      'starting',
      'shutting down',
      'made',
      'closed what start made',
      'stopped',
    ]);
    expect(msgs.find((m) => m.msg === 'start over')?.stopping).toBe(true);
  }, 20_000);

  it('a close that overruns its deadline ends with exit 1 and says so', async () => {
    const c = child(60_000, 300);
    await started(c);
    c.p.kill('SIGTERM');
    expect(await c.exited).toBe(1);
    expect(c.lines.some((l) => l.includes('shutdown did not finish in time'))).toBe(true);
  }, 20_000);
});

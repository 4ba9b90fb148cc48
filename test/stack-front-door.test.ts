import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The local stack (the local IoT core and the fleet service) as a newcomer starts it: `pnpm start` from the repository root, signals sent to the process the user
 * started (pnpm), and the mistakes a newcomer makes (a port in use, a second core on the same data directory).
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function pnpmStart(args: readonly string[], options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn('pnpm', ['start', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const out: string[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, exited };
}

interface ReadyLine {
  readonly api: string;
  readonly operatorToken: string;
  readonly http: string;
  readonly mqttTls: string;
  readonly pid: number;
  readonly enrolDevice: string;
  readonly secretAccessKey: string;
}

async function ready(s: Started): Promise<ReadyLine> {
  // Up to 45 s: on a loaded two-core machine the stack's start (tsx compiling, two servers) can take 20 s.
  for (let i = 0; i < 900; i++) {
    const line = s.out.find((l) => l.includes('local stack ready'));
    if (line !== undefined) return JSON.parse(line) as ReadyLine;
    if (s.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the stack did not become ready:\n${s.out.join('\n')}`);
}

const portOf = (url: string): number => Number(new URL(url).port);

const isListening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dirs: string[] = [];
const children: ChildProcess[] = [];
const servers: Server[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'front-door-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const freePorts = ['--http-port', '0', '--mqtt-tls-port', '0', '--api-port', '0'];

describe('pnpm start, as a newcomer runs it', () => {
  it('SIGTERM to the pnpm process stops the whole stack: exit 0, every port released, no ELIFECYCLE', async () => {
    const s = pnpmStart(['--data-dir', tempDir(), ...freePorts]);
    children.push(s.child);
    const r = await ready(s);
    expect(r.enrolDevice).toContain('devices enrol <thingName>');
    expect(r.secretAccessKey).toBe('local-iot-core-development-secret');
    // The operator token printed at first start opens the API; the API answers without one with 401.
    const listed = await fetch(`${r.api}/v1/rollouts`, { headers: { authorization: `Bearer ${r.operatorToken}` } });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ rollouts: [] });
    expect((await fetch(`${r.api}/v1/rollouts`)).status).toBe(401);
    // The stack enrols devices through the core's registry and CA.
    const enrolled = await fetch(`${r.api}/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${r.operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ thingName: 'front-door-1', certificate: { kind: 'generate' } }),
    });
    expect(enrolled.status).toBe(201);
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(s.out.join('\n')).not.toContain('ELIFECYCLE');
    expect(s.out.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(isAlive(r.pid)).toBe(false);
    expect(await isListening(portOf(r.http))).toBe(false);
    expect(await isListening(portOf(r.mqttTls))).toBe(false);
    expect(await isListening(portOf(r.api))).toBe(false);
  }, 90_000);

  it('SIGTERM while the stack is still starting: it finishes the start, then stops cleanly, exit 0', async () => {
    const s = pnpmStart(['--data-dir', tempDir(), ...freePorts]);
    children.push(s.child);
    // The stack's first log line comes from the core's start, long before "local stack ready".
    for (let i = 0; i < 900 && !s.out.some((l) => l.startsWith('{')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.out.some((l) => l.includes('local stack ready'))).toBe(false);
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    const msgs = s.out.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('shutting down');
    expect(msgs.at(-1)).toBe('stopped');
    const r = JSON.parse(s.out.find((l) => l.includes('local stack ready'))!) as ReadyLine;
    expect(isAlive(r.pid)).toBe(false);
    expect(await isListening(portOf(r.http))).toBe(false);
    expect(await isListening(portOf(r.api))).toBe(false);
  }, 90_000);

  it('Ctrl-C (SIGINT to the whole process group, so the core gets it twice) ends cleanly with exit 0', async () => {
    const s = pnpmStart(['--data-dir', tempDir(), ...freePorts], { detached: true });
    children.push(s.child);
    const r = await ready(s);
    process.kill(-(s.child.pid ?? 0), 'SIGINT');
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(s.out.join('\n')).not.toContain('ELIFECYCLE');
    expect(s.out.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(isAlive(r.pid)).toBe(false);
  }, 60_000);

  it('a port in use names the flag to change, exits 1, no stack trace', async () => {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as AddressInfo).port;
    const s = pnpmStart([
      '--data-dir',
      tempDir(),
      '--http-port',
      String(taken),
      '--mqtt-tls-port',
      '0',
      '--api-port',
      '0',
    ]);
    children.push(s.child);
    const exit = await s.exited;
    const text = s.out.join('\n');
    expect(exit.code).toBe(1);
    expect(text).toContain(`port ${taken} on 127.0.0.1 is already in use`);
    expect(text).toContain('--http-port (or OTA_CORE_HTTP_PORT)');
    expect(text).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('an operator API port in use names its flag', async () => {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as AddressInfo).port;
    const s = pnpmStart([
      '--data-dir',
      tempDir(),
      '--http-port',
      '0',
      '--mqtt-tls-port',
      '0',
      '--api-port',
      String(taken),
    ]);
    children.push(s.child);
    const exit = await s.exited;
    const text = s.out.join('\n');
    expect(exit.code).toBe(1);
    expect(text).toContain('--api-port (or OTA_FLEET_API_PORT)');
    expect(text).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('a second core on the same data directory refuses to start and says who holds it', async () => {
    const dir = tempDir();
    const first = pnpmStart(['--data-dir', dir, ...freePorts]);
    children.push(first.child);
    const r = await ready(first);
    const second = pnpmStart(['--data-dir', dir, ...freePorts]);
    children.push(second.child);
    const exit = await second.exited;
    const text = second.out.join('\n');
    expect(exit.code).toBe(1);
    expect(text).toContain(`is in use by iot-core (pid ${r.pid}`);
    expect(text).toContain('--data-dir');
    // The first one is untouched and still serves.
    expect(await isListening(portOf(r.http))).toBe(true);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  }, 60_000);

  it('a lock left by a killed core is taken over, with a warning', async () => {
    const dir = tempDir();
    const first = pnpmStart(['--data-dir', dir, ...freePorts]);
    children.push(first.child);
    const r = await ready(first);
    process.kill(r.pid, 'SIGKILL');
    await first.exited;
    const second = pnpmStart(['--data-dir', dir, ...freePorts]);
    children.push(second.child);
    await ready(second);
    expect(second.out.some((l) => l.includes('took over the lock') && l.includes(`"pid":${r.pid}`))).toBe(true);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);

  it('pretty logs when asked (a terminal gets them by default), and a bad LOG_FORMAT is a usage error', async () => {
    const pretty = pnpmStart(['--data-dir', tempDir(), ...freePorts], { env: { LOG_FORMAT: 'pretty' } });
    children.push(pretty.child);
    for (let i = 0; i < 400 && !pretty.out.some((l) => l.includes('local stack ready')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const readyLine = pretty.out.find((l) => l.includes('local stack ready')) ?? '';
    expect(readyLine).toContain('INFO');
    expect(readyLine.trimStart().startsWith('{')).toBe(false);
    expect(pretty.out.some((l) => l.includes('enrolDevice:'))).toBe(true);
    pretty.child.kill('SIGTERM');
    expect((await pretty.exited).code).toBe(0);

    const bad = pnpmStart(['--data-dir', tempDir(), ...freePorts], { env: { LOG_FORMAT: 'xml' } });
    children.push(bad.child);
    expect((await bad.exited).code).toBe(2);
    expect(bad.out.join('\n')).toContain('LOG_FORMAT must be "pretty" or "json", got "xml"');
  }, 60_000);
});

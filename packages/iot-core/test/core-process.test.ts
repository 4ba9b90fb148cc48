import { CreateThingCommand, DescribeThingCommand, IoTClient } from '@aws-sdk/client-iot';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CORE_NODE_FLAGS } from '@otafleet/iot-core';

const MAIN = fileURLToPath(new URL('../src/app/main.ts', import.meta.url));
const ACCESS = { accessKeyId: 'AKIATESTPROCESS00001', secretAccessKey: 'process-test-secret-key-0001' };

interface Running {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function run(args: readonly string[]): Running {
  const child = spawn(process.execPath, [...CORE_NODE_FLAGS, '--conditions=source', '--import', 'tsx', MAIN, ...args], {
    env: {
      ...process.env,
      OTA_CORE_ACCESS_KEY_ID: ACCESS.accessKeyId,
      OTA_CORE_SECRET_ACCESS_KEY: ACCESS.secretAccessKey,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function ready(r: Running): Promise<{ http: string }> {
  for (let i = 0; i < 300; i++) {
    const line = r.lines.find((l) => l.includes('local IoT core ready'));
    if (line) return JSON.parse(line) as { http: string };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`core did not become ready:\n${r.lines.join('\n')}`);
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('iot-core process', () => {
  it('is started with the core node flags everywhere: pnpm start, the iot-core bin', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const shebang = readFileSync(new URL('../bin/iot-core.js', import.meta.url), 'utf8').split('\n')[0] ?? '';
    expect(CORE_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of CORE_NODE_FLAGS) {
      expect(pkg.scripts['start']?.split(' ')).toContain(flag);
      expect(shebang.split(' ')).toContain(flag);
    }
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
  });

  it('refuses a bad flag with exit code 2 and says what is wrong', async () => {
    const r = run(['--http-port', 'eighty']);
    children.push(r.child);
    expect(await r.exited).toBe(2);
    expect(r.lines.join('\n')).toContain('--http-port / OTA_CORE_HTTP_PORT must be a port number, got "eighty"');
  });

  it('refuses an unknown flag with the usage', async () => {
    const r = run(['--colour', 'blue']);
    children.push(r.child);
    expect(await r.exited).toBe(2);
    expect(r.lines.join('\n')).toContain('Usage: iot-core');
  });

  it('a SIGTERM while it is still starting: it finishes the start, then stops cleanly, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-proc-'));
    dirs.push(dir);
    const early = run(['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'info']);
    children.push(early.child);
    // Its first log line comes from the start (the PKI, the registry), before "local IoT core ready".
    for (let i = 0; i < 900 && early.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    early.child.kill('SIGTERM');
    expect(await early.exited).toBe(0);
    const msgs = early.lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('shutting down');
    expect(msgs.at(-1)).toBe('stopped');
  }, 60_000);

  it('shuts down on SIGTERM with exit 0, and what it acknowledged is there after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-proc-'));
    dirs.push(dir);
    const args = ['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'info'];
    const first = run(args);
    children.push(first.child);
    const { http } = await ready(first);
    const client = new IoTClient({ endpoint: http, region: 'us-east-1', credentials: ACCESS });
    await client.send(
      new CreateThingCommand({ thingName: 'survivor', attributePayload: { attributes: { hw: 'pi4' } } }),
    );
    client.destroy();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);

    const second = run(args);
    children.push(second.child);
    const again = await ready(second);
    const client2 = new IoTClient({ endpoint: again.http, region: 'us-east-1', credentials: ACCESS });
    const thing = await client2.send(new DescribeThingCommand({ thingName: 'survivor' }));
    expect(thing.attributes).toEqual({ hw: 'pi4' });
    client2.destroy();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});

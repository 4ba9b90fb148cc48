import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient } from '../src/testing/mqtt.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/jobs-server.ts', import.meta.url));
const THINGS = 20;
const PER_THING = 400;

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(dbPath: string): Promise<Server> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', FIXTURE, dbPath, String(THINGS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('fixture did not start within 20 s'));
    }, 20_000);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), exited });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('fixture exited before it was ready'));
    });
  });
}

describe('jobs service crash safety (child process, SIGKILL mid-burst)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('every acknowledged update survives SIGKILL and none is applied twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'core.db');
    const first = await startServer(dbPath);
    cleanups.push(() => void first.child.kill('SIGKILL'));

    const things = Array.from({ length: THINGS }, (_, i) => `crash-${i}`);
    const clients: MqttClient[] = [];
    cleanups.push(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    });
    /** Highest acknowledged update index per thing. */
    const acked = new Map<string, number>(things.map((t) => [t, -1]));
    let total = 0;
    let killed = false;
    // Each thing keeps WINDOW updates in flight (so the server cannot run far ahead of what we saw);
    // expectedVersion = 1 + i makes every update applicable exactly once, in order.
    const WINDOW = 8;
    const starters: (() => void)[] = [];
    for (const t of things) {
      const c = await connectClient(first.port, `crash-client-${t}`);
      clients.push(c);
      await c.subscribeAsync(`$aws/things/${t}/jobs/burst/update/+`, { qos: 1 });
      let sent = 0;
      const send = (): void => {
        if (killed || sent >= PER_THING) return;
        const i = sent++;
        c.publish(
          `$aws/things/${t}/jobs/burst/update`,
          JSON.stringify({
            status: 'IN_PROGRESS',
            statusDetails: { seq: String(i) },
            expectedVersion: 1 + i,
            clientToken: String(i),
          }),
          { qos: 1 },
        );
      };
      c.on('message', (topic, payload) => {
        if (!topic.endsWith('/accepted')) return;
        const i = Number((JSON.parse(payload.toString()) as { clientToken: string }).clientToken);
        acked.set(t, Math.max(acked.get(t) ?? -1, i));
        total += 1;
        if (!killed && total >= (THINGS * PER_THING) / 3) {
          killed = true;
          first.child.kill('SIGKILL');
        }
        send();
      });
      starters.push(() => {
        for (let w = 0; w < WINDOW; w++) send();
      });
    }
    for (const start of starters) start();
    // Bounded: if the burst stalls, kill anyway and let the assertions below fail.
    const guard = setTimeout(() => {
      if (!killed) first.child.kill('SIGKILL');
    }, 15_000);
    cleanups.push(() => clearTimeout(guard));
    const result = await first.exited;
    expect(result.signal).toBe('SIGKILL');
    expect(killed).toBe(true);
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    const ackedTotal = [...acked.values()].reduce((n, v) => n + v + 1, 0);
    expect(ackedTotal).toBeGreaterThan(0);

    const second = await startServer(dbPath);
    cleanups.push(() => void second.child.kill('SIGKILL'));
    const probe = await connectClient(second.port, 'crash-probe');
    clients.push(probe);
    await probe.subscribeAsync('$aws/things/+/jobs/burst/get/+', { qos: 1 });
    const states = new Map<string, { versionNumber: number; seq: number }>();
    probe.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as {
        execution?: { thingName: string; versionNumber: number; statusDetails?: { seq?: string } };
      };
      if (body.execution)
        states.set(body.execution.thingName, {
          versionNumber: body.execution.versionNumber,
          seq: Number(body.execution.statusDetails?.seq ?? -1),
        });
    });
    for (const t of things) await probe.publishAsync(`$aws/things/${t}/jobs/burst/get`, '{}', { qos: 1 });
    const deadline = Date.now() + 5000;
    while (states.size < THINGS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(states.size).toBe(THINGS);
    for (const t of things) {
      const s = states.get(t);
      const k = acked.get(t) ?? -1;
      expect(s, t).toBeDefined();
      if (!s) continue;
      // Every acknowledged update is there...
      expect(s.seq, t).toBeGreaterThanOrEqual(k);
      // ...and each applied exactly once: version 1 plus one per applied update 0..seq.
      expect(s.versionNumber, t).toBe(s.seq + 2);
    }

    // The kill really came mid-burst: some updates never made it.
    expect([...states.values()].some((s) => s.seq < PER_THING - 1)).toBe(true);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM exits gracefully with code 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-term-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startServer(join(dir, 'core.db'));
    cleanups.push(() => void server.child.kill('SIGKILL'));
    const c = await connectClient(server.port, 'term-client');
    await c.endAsync();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});

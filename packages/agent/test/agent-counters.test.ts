/**
 * The composition root wires the real supervisor: an agent created in-process from its configuration file runs the
 * sample application from the active slot; a crash of that application (SIGKILL, a real signal) shows in the
 * counters the health report reads, and the supervisor brings it back.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAgent, type Agent } from '../src/agent.js';
import { loadAgentConfig } from '../src/config/load.js';
import { startE2eCore, type E2eCore } from './e2e-core.js';
import { buildSampleBundles, enrolledE2eDevice, type Samples } from './e2e-device.js';
import { eventually } from './e2e-helpers.js';

let core: E2eCore;
let samples: Samples;
let agent: Agent | undefined;

beforeAll(async () => {
  [core, samples] = await Promise.all([startE2eCore(), buildSampleBundles()]);
}, 120_000);
afterAll(async () => {
  await agent?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

it('counts a crash of the supervised application and restarts it; connects with the configured keepalive', async () => {
  const dev = await enrolledE2eDevice(core, samples, 'counters-pi');
  const config = JSON.parse(await readFile(dev.configPath, 'utf8')) as { broker: Record<string, unknown> };
  config.broker['keepaliveSeconds'] = 300;
  await writeFile(dev.configPath, JSON.stringify(config));
  const loaded = await loadAgentConfig(dev.configPath);
  if (!loaded.ok) throw new Error(loaded.error.message);
  agent = await createAgent(loaded.value, { logger: pino({ level: 'silent' }) });
  await agent.start();
  expect(await eventually(() => dev.appServes(), 'the factory application')).toBe('http-service 1.0.0');
  expect(agent.counters.counters()).toEqual({ processRestarts: 0, crashes: 0, errors: 0, requests: 0 });
  // The broker's view of the session: the CONNECT carried the configured keepalive (the default is 30), and aedes
  // drops the client after 1.5 times it.
  const aedes = core.core.broker?.aedes as unknown as { clients: Record<string, { _keepaliveInterval?: number }> };
  expect(aedes.clients['counters-pi']?._keepaliveInterval).toBe(300 * 1500 + 1);

  const pid = await eventually(async () => {
    const res = await fetch(`http://127.0.0.1:${dev.appPort}/health`).catch(() => undefined);
    return res === undefined ? undefined : await findAppPid(dev.appPort);
  }, 'the application pid');
  process.kill(pid, 'SIGKILL');
  await eventually(() => (agent!.counters.counters().processRestarts === 1 ? true : undefined), 'a restart', 30_000);
  expect(agent.counters.counters()).toMatchObject({ processRestarts: 1, crashes: 1 });
  expect(await eventually(() => dev.appServes(), 'the application back')).toBe('http-service 1.0.0');
}, 120_000);

/** The pid of the process listening on the port, from /proc/net/tcp and each process's socket links. */
async function findAppPid(port: number): Promise<number | undefined> {
  const { readFile, readdir, readlink } = await import('node:fs/promises');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const tables = (await readFile('/proc/net/tcp', 'utf8')) + (await readFile('/proc/net/tcp6', 'utf8'));
  const inode = tables
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')?.[9];
  if (inode === undefined) return undefined;
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === `socket:[${inode}]`) return Number(pid);
    }
  }
  return undefined;
}

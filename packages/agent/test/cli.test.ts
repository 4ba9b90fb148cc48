/**
 * `otaagent` as a real command: the bin launcher, real configuration files, a real agent process against the local
 * IoT core (mTLS), directory slots with the sample application, SIGTERM, and systemd's notify protocol over a real
 * unix datagram socket.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eCore, isTerminal, type E2eCore } from './e2e-core.js';
import { buildSampleBundles, enrolledE2eDevice, installDocument, type E2eDevice, type Samples } from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, type BundleServer } from './e2e-net.js';
import { OTAAGENT, listenNotifySocket, otaagent, otaagentJson } from './cli-harness.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

const device = (thing: string): Promise<E2eDevice> => enrolledE2eDevice(core, samples, thing);

/** `otaagent run` as systemd would start it (own process group, like the unit's cgroup). */
function runAgent(dev: E2eDevice, env: Readonly<Record<string, string>> = {}) {
  const child = spawn(process.execPath, [OTAAGENT, 'run', '--config', dev.configPath], {
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  cleanups.push(kill);
  return { child, exited, log: () => log, kill };
}

describe('otaagent config check and usage', () => {
  it('accepts a good file and names every bad field, exit 2, with --json', async () => {
    const dev = await device('cli-config');
    const good = await otaagent(['config', 'check', dev.configPath]);
    expect(good).toMatchObject({ code: 0, stdout: `${dev.configPath}: ok (thing cli-config)\n` });

    const bad = join(dev.root, '..', 'bad.json');
    await writeFile(bad, JSON.stringify({ thingName: 'cli-config', hardwareType: 'generic-linux', dataDir: 7 }));
    const human = await otaagent(['config', 'check', bad]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`invalid agent configuration in ${bad}`);
    expect(human.stderr).toContain('/dataDir: Expected string');
    const json = await otaagentJson(['config', 'check', bad]);
    expect(json.code).toBe(2);
    expect(json.body).toMatchObject({ error: { code: 'CONFIG_INVALID' } });
    expect((json.body as { error: { details: string[] } }).error.details).toContain(
      '/broker: Expected required property',
    );

    await writeFile(bad, '{"thingName": ');
    expect(await otaagentJson(['config', 'check', bad])).toMatchObject({
      code: 2,
      body: { error: { code: 'CONFIG_INVALID_JSON' } },
    });
    expect(await otaagentJson(['config', 'check', join(dev.root, 'missing.json')])).toMatchObject({
      code: 2,
      body: { error: { code: 'CONFIG_UNREADABLE' } },
    });
  }, 120_000);

  it('status asks the local endpoint first and reads the files when it does not answer', async () => {
    const dev = await device('cli-endpoint');
    const port = await freePort();
    const configPath = join(dev.root, '..', 'with-endpoint.json');
    const config = JSON.parse(await readFile(dev.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, localEndpointPort: port }));
    const endpoint = createServer((req, res) => {
      if (req.url === '/status') res.writeHead(200, { 'content-type': 'application/json' }).end('{"running":"1.0.0"}');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => endpoint.listen(port, '127.0.0.1', r));
    try {
      expect(await otaagentJson(['status', '--config', configPath])).toEqual({
        code: 0,
        body: { source: 'endpoint', endpoint: `http://127.0.0.1:${port}/status`, status: { running: '1.0.0' } },
      });
    } finally {
      await new Promise((r) => endpoint.close(r));
    }
    expect(await otaagentJson(['status', '--config', configPath])).toMatchObject({
      code: 0,
      body: { source: 'journal', agent: { running: false } },
    });
  }, 120_000);

  it('usage errors exit 2 and say what to type', async () => {
    for (const args of [[], ['frobnicate'], ['status'], ['config', 'lint', 'x'], ['run', '--nope']]) {
      const r = await otaagentJson(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.body).toMatchObject({ error: { code: 'USAGE' } });
    }
    const help = await otaagent(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('exit codes: 0 ok, 1 failure, 2 usage or bad configuration');
  }, 120_000);
});

describe('otaagent run, status, rollback', () => {
  it('a SIGTERM while the agent is still starting: it finishes the start, shuts down cleanly, exit 0', async () => {
    const dev = await device('cli-early');
    const agent = runAgent(dev);
    // The first log line comes while the agent opens its journal and slots, before it starts the application.
    agent.child.stdout.once('data', () => agent.child.kill('SIGTERM'));
    expect(await agent.exited).toBe(0);
    const records = agent
      .log()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    const lines = records.map((r) => r.msg);
    expect(lines).toContain('shutting down');
    expect(lines.at(-1)).toBe('stopped');
    // What the close cut short (subscriptions waiting for the first connection) is no error.
    const levels = records.map((r) => r.level);
    expect(levels.filter((l) => l >= 50)).toEqual([]);
    expect(await dev.appServes()).toBeUndefined(); // started with the agent, stopped with it
  }, 60_000);

  it('runs under the notify protocol, reports status, exits 0 on SIGTERM; rollback goes back to 1.0.0, journaled', async () => {
    const dev = await device('cli-pi');
    const notify = await listenNotifySocket(join(dev.dataDir, '..', 'notify.sock'));
    cleanups.push(() => notify.close());

    // a fresh device: nothing to roll back to, and the status from the journal and slots
    const refused = await otaagentJson(['rollback', '--config', dev.configPath]);
    expect(refused).toMatchObject({ code: 1, body: { error: { code: 'ROLLBACK_UNAVAILABLE' } } });
    const fresh = await otaagentJson(['status', '--config', dev.configPath]);
    expect(fresh).toMatchObject({
      code: 0,
      body: {
        source: 'journal',
        agent: { running: false },
        slots: { active: 'A', committed: 'A', versions: { A: { version: '1.0.0' } } },
        rollbackCount: 0,
      },
    });
    expect(fresh.body).not.toHaveProperty('lastUpdate'); // none yet: absent from the JSON

    const agent = runAgent(dev, { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' });
    const fields = (m: string): string[] => m.split('|');
    const ready = await eventually(() => notify.messages.find((m) => fields(m).includes('READY=1')), 'READY=1').catch(
      (e: unknown) => {
        throw new Error(`${String(e)}; agent log: ${agent.log().slice(-3000)}`);
      },
    );
    // The agent process itself (under tsx the launcher runs it as its child): the pid its log lines carry.
    const agentPid = (JSON.parse(agent.log().split('\n')[0]!) as { pid: number }).pid;
    expect(fields(ready)).toContain(`MAINPID=${agentPid}`);
    expect(fields(ready)).toContain('STATUS=running as cli-pi');
    await eventually(
      () => (notify.messages.filter((m) => fields(m).includes('WATCHDOG=1')).length >= 2 ? true : undefined),
      'two watchdog pings',
    );
    await eventually(() => dev.appServes(), 'the factory application');

    const running = await otaagentJson(['status', '--config', dev.configPath]);
    expect(running.body).toMatchObject({ source: 'journal', agent: { running: true, pid: agentPid } });
    const busy = await otaagentJson(['rollback', '--config', dev.configPath]);
    expect(busy).toMatchObject({ code: 1, body: { error: { code: 'AGENT_RUNNING' } } });

    const url = await serve(server, 'cli-1.1.0.otab', samples.byVersion('1.1.0'));
    await core.createJob('cli-110', dev.thing, installDocument(url, dev.appPort));
    const e = await core.waitForExecution('cli-110', dev.thing, isTerminal, 90_000);
    expect(e.status).toBe('SUCCEEDED');
    expect(
      await eventually(async () => ((await dev.appServes()) === 'http-service 1.1.0' ? true : undefined), '1.1.0'),
    ).toBe(true);

    const human = await otaagent(['status', '--config', dev.configPath]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('active slot: B (http-service 1.1.0), committed: B');
    expect(human.stdout).toContain('last update: cli-110 succeeded');

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    // received before the agent exited; its line reaches us through the listener's pipe
    await eventually(
      () => (notify.messages.some((m) => fields(m).includes('STOPPING=1')) ? true : undefined),
      'STOPPING=1',
    );
    expect(await dev.appServes()).toBeUndefined(); // the application was stopped with the agent

    const rolled = await otaagentJson(['rollback', '--config', dev.configPath]);
    expect(rolled).toMatchObject({
      code: 0,
      body: { fromSlot: 'B', toSlot: 'A', fromVersion: '1.1.0', toVersion: '1.0.0' },
    });
    const after = await otaagentJson(['status', '--config', dev.configPath]);
    expect(after.body).toMatchObject({
      agent: { running: false },
      slots: { active: 'A', committed: 'A' },
      lastUpdate: { operation: 'ota.rollback', result: 'rolled-back', reasonCode: 'ROLLED_BACK', toVersion: '1.0.0' },
      rollbackCount: 1,
    });
    expect((await dev.slots()).trial).toBeUndefined();

    const again = runAgent(dev);
    expect(
      await eventually(async () => ((await dev.appServes()) === 'http-service 1.0.0' ? true : undefined), '1.0.0'),
    ).toBe(true);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 180_000);
});

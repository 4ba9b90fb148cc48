/**
 * `pnpm sim` pointed at a stack it did not start: `pnpm start` as its own process (the local core and the fleet
 * service, trusting a release key made here), and the simulator as another, enrolling its devices through the
 * fleet API and connecting them over mutual TLS. Two runs share the stack under their own namespaces; a run that
 * cannot work there (an untrusted key, a wrong token, no CA, bad control-plane credentials) stops with exit 2 and
 * says why, before it enrols what it does not need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeThingGroupCommand, IoTClient, ListJobExecutionsForThingCommand } from '@aws-sdk/client-iot';
import { generateBundleKeyPair } from '@otafleet/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimReport } from '../src/index.js';
import { thingsInGroup } from '../src/run/registry.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sim-running-stack-'));
const DEVICES = 20;

interface Ready {
  readonly api: string;
  readonly http: string;
  readonly mqttTls: string;
  readonly ca: string;
  readonly tokenFile: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

let stack: ChildProcess;
let stackExit: Promise<number | null>;
let ready: Ready;
let iot: IoTClient;

function writeKey(name: string): { privatePath: string; publicKeyPem: string } {
  const pair = generateBundleKeyPair('ed25519');
  const privatePath = join(dir, `${name}.key.pem`);
  writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
  return { privatePath, publicKeyPem: pair.publicKeyPem };
}
const rehearsal = writeKey('rehearsal');
const stranger = writeKey('stranger');

beforeAll(async () => {
  const trust = {
    keys: [{ id: 'rehearsal', algorithm: 'ed25519', publicKey: rehearsal.publicKeyPem, status: 'active' }],
  };
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(trust));
  const args = ['--data-dir', join(dir, 'stack'), '--trust', join(dir, 'trust.json')];
  stack = spawn('pnpm', ['start', '--', ...args, '--http-port', '0', '--mqtt-tls-port', '0', '--api-port', '0'], {
    cwd: root,
    env: { ...process.env, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stackExit = new Promise((resolve) => stack.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  stack.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
  stack.stderr?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
  for (let i = 0; i < 1200 && stack.exitCode === null; i++) {
    const line = lines.find((l) => l.includes('local stack ready'));
    if (line !== undefined) {
      ready = JSON.parse(line) as Ready;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (ready === undefined) throw new Error(`the stack did not become ready:\n${lines.join('\n')}`);
  iot = new IoTClient({
    endpoint: ready.http,
    region: 'us-east-1',
    credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
  });
}, 90_000);

afterAll(async () => {
  iot?.destroy();
  stack?.kill('SIGTERM');
  const code = await stackExit;
  rmSync(dir, { recursive: true, force: true });
  // The stack the runs used shuts down as it should after them.
  expect(code).toBe(0);
}, 60_000);

/** `pnpm sim -- run SCENARIO` on the running stack, with `extra` flags and environment. */
function sim(
  scenario: string,
  namespace: string,
  options: { flags?: Record<string, string | undefined>; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const flags: Record<string, string | undefined> = {
    '--fleet-api': ready.api,
    '--token-file': ready.tokenFile,
    '--mqtt': ready.mqttTls,
    '--ca': ready.ca,
    '--iot': ready.http,
    '--signing-key': rehearsal.privatePath,
    '--namespace': namespace,
    '--devices': String(DEVICES),
    '--report': join(dir, `${namespace}.json`),
    ...options.flags,
  };
  const args = Object.entries(flags).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'simulator/src/cli/main.ts', 'run', scenario, ...args],
      {
        cwd: root,
        env: {
          ...process.env,
          INIT_CWD: dir,
          AWS_ACCESS_KEY_ID: ready.accessKeyId,
          AWS_SECRET_ACCESS_KEY: ready.secretAccessKey,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port nothing listens on (fetch refuses the well-known ones outright, so not port 1). */
const closedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

const reportOf = (namespace: string): SimReport =>
  JSON.parse(readFileSync(join(dir, `${namespace}.json`), 'utf8')) as SimReport;

const groupExists = (thingGroupName: string): Promise<boolean> =>
  iot.send(new DescribeThingGroupCommand({ thingGroupName })).then(
    () => true,
    (e: unknown) => {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return false;
      throw e;
    },
  );

describe('pnpm sim on a running stack', () => {
  it('rolls a good release out to every device it enrolled there, all under its namespace', async () => {
    const run = await sim('happy-path', 'alpha');
    expect(run.code).toBe(0);
    const report = reportOf('alpha');
    expect(report.stack).toEqual({ kind: 'running', fleetApi: ready.api, mqttUrl: ready.mqttTls, namespace: 'alpha' });
    expect(report.passed).toBe(true);
    expect(report.rollout.status).toBe('completed');
    expect(report.versions).toEqual({ '1.1.0': DEVICES });
    expect(report.rollout.id.startsWith('alpha-')).toBe(true);
    const things = await thingsInGroup(iot, 'alpha-sim-fleet');
    expect(things).toHaveLength(DEVICES);
    expect(things.every((t) => t.startsWith('alpha-'))).toBe(true);
  }, 240_000);

  it('a bad release on the same stack stops at its canary and touches no device of the first run', async () => {
    const run = await sim('bad-canary', 'beta');
    expect(run.code).toBe(0);
    const report = reportOf('beta');
    expect(report.rollout.status).toBe('rolled-back');
    expect(report.rollbacks.devices).toBeGreaterThan(0);
    expect(report.versions).toEqual({ '1.0.0': DEVICES });
    // Every job any device of the first run ever saw is the first run's.
    for (const thingName of await thingsInGroup(iot, 'alpha-sim-fleet')) {
      const jobs = await iot.send(new ListJobExecutionsForThingCommand({ thingName }));
      const ids = (jobs.executionSummaries ?? []).map((e) => e.jobId ?? '');
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.filter((id) => !id.startsWith('ota-alpha-'))).toEqual([]);
    }
  }, 240_000);

  it("link faults act on the devices' sockets: a flaky network still lands the release, a corrupted download fails", async () => {
    const run = await sim('flaky-network', 'theta');
    expect(run.code).toBe(0);
    const report = reportOf('theta');
    expect(report.rollout.status).toBe('completed');
    // flaky-network corrupts 3 % of the downloads (1 of 20): that device's job fails for good and it keeps 1.0.0.
    const failed = report.jobs.reduce((n, j) => n + (j.byStatus['FAILED'] ?? 0), 0);
    expect(failed).toBe(1);
    expect(report.versions).toEqual({ '1.0.0': 1, '1.1.0': DEVICES - 1 });
  }, 300_000);

  it('refuses a release key the fleet service does not trust, before it enrols any device', async () => {
    const run = await sim('happy-path', 'gamma', { flags: { '--signing-key': stranger.privatePath } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/setup failed: the fleet service refused release 1\.1\.0: .*422 BUNDLE_/);
    expect(run.stderr).toContain('release key stranger');
    expect(await groupExists('gamma-sim-fleet')).toBe(false);
  }, 60_000);

  it('says so when the service is not there, the token is wrong, the CA is missing or the control-plane credentials are bad', async () => {
    const token = await sim('happy-path', 'delta', { env: { OTA_FLEET_TOKEN: 'ofs_not-a-token' } });
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/the fleet service at http:\/\/127\.0\.0\.1:\d+: .*401 UNAUTHENTICATED/);
    expect(await groupExists('delta-sim-fleet')).toBe(false);

    const closed = await closedPort();
    const nobody = await sim('happy-path', 'eta', { flags: { '--fleet-api': `http://127.0.0.1:${closed}` } });
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain(`cannot reach http://127.0.0.1:${closed} (ECONNREFUSED)`);

    const keys = await sim('happy-path', 'epsilon', { env: { AWS_SECRET_ACCESS_KEY: 'wrong-secret' } });
    expect(keys.code).toBe(2);
    expect(keys.stderr).toContain(`the IoT control plane at ${ready.http}`);
    expect(keys.stderr).toContain('AWS SDK chain');

    const ca = await sim('happy-path', 'zeta', { flags: { '--ca': undefined } });
    expect(ca.code).toBe(2);
    expect(ca.stderr).toContain(`mutual TLS to ${ready.mqttTls} failed`);
    expect(ca.stderr).toContain('--ca');
    // Only the one device that tried the connection was enrolled.
    expect(await thingsInGroup(iot, 'zeta-sim-fleet')).toHaveLength(1);
  }, 120_000);
});

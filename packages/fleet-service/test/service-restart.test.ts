/**
 * The fleet service killed with SIGKILL in every phase of a rollout and started again on the same data: the
 * rollout ends exactly as an uninterrupted one — every device on the new release, one install job per device,
 * every wave passed, the audit log in order. Real processes (the local stack), real signals, real MQTT devices.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AddThingToThingGroupCommand,
  ListJobExecutionsForJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  IoTClient,
} from '@aws-sdk/client-iot';
import { afterAll, describe, expect, it } from 'vitest';
import { publicKeyPemOf } from '@otafleet/bundle';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, issueDeviceToDirectory } from '@otafleet/iot-core';
import { bundleBytes, testSigner } from './fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from './fleet-devices.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'packages/fleet-service/src/app/main.ts');
const signer = testSigner('release-2026');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

interface Stack {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly ready: Promise<Record<string, string>>;
}

function startStack(args: readonly string[]): Stack {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        out.push(line);
        if (line.includes('local stack ready')) resolve(JSON.parse(line) as Record<string, string>);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the stack exited (${code}) before it was ready:\n${out.join('\n')}`)),
    );
  });
  return { child, out, ready };
}

const kill = async (stack: Stack): Promise<void> => {
  const exited = new Promise((r) => stack.child.once('exit', r));
  stack.child.kill('SIGKILL');
  await exited;
};

const dirs: string[] = [];
const devices: FleetDevice[] = [];
let current: Stack | undefined;
afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  if (current !== undefined && current.child.exitCode === null) await kill(current);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the fleet service killed with SIGKILL mid-rollout', () => {
  it('continues after a kill in every phase and ends as an uninterrupted rollout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-restart-'));
    dirs.push(dir);
    const trustPath = join(dir, 'trust.json');
    writeFileSync(
      trustPath,
      JSON.stringify({
        keys: [
          {
            id: signer.keyId,
            algorithm: signer.algorithm,
            publicKey: publicKeyPemOf(signer.privateKey),
            status: 'active',
          },
        ],
      }),
    );
    const [http, mqtt, api] = [await freePort(), await freePort(), await freePort()];
    const args = [
      '--data-dir',
      join(dir, 'core'),
      '--http-port',
      String(http),
      '--mqtt-tls-port',
      String(mqtt),
      '--api-port',
      String(api),
      '--trust',
      trustPath,
    ];
    current = startStack(args);
    const first = await current.ready;
    const token = first.operatorToken ?? '';
    const call = async (path: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
      const response = await fetch(`http://127.0.0.1:${api}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
      });
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    };

    const iot = new IoTClient({
      endpoint: `http://127.0.0.1:${http}`,
      region: 'us-east-1',
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    });
    await iot.send(new CreateThingGroupCommand({ thingGroupName: 'lab' }));
    for (let i = 0; i < 8; i++) {
      const thingName = `pi-${i}`;
      await iot.send(new CreateThingCommand({ thingName }));
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'lab', thingName }));
      const credentials = await issueDeviceToDirectory(join(dir, 'core', 'pki'), thingName);
      devices.push(
        await startFleetDevice({
          thingName,
          port: mqtt,
          credentials,
          version: '1.0.0',
          behaviourOf: () => 'good',
        }),
      );
    }
    iot.destroy();

    const upload = await fetch(`http://127.0.0.1:${api}/v1/bundles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(await bundleBytes(signer, '1.1.0')),
    });
    const bundle = (await upload.json()) as { sha256: string };
    expect(upload.status).toBe(201);
    const created = await call('/v1/rollouts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'rk',
        name: '1.1.0 to the lab',
        bundleId: bundle.sha256,
        target: { kind: 'group', groupName: 'lab' },
        waves: [{ count: 2 }, { percent: 50 }, { percent: 100 }],
        onBreach: 'pause',
        // This test is about the rollout's own state across kills. Health reports published around a restart
        // can be missed today (open: docs/fleet-service.md, "Not yet"), so this gate does not wait for them;
        // rollout-engine.e2e.test.ts covers health gating.
        gate: { minReportingFraction: 0 },
        soakSeconds: 1,
        waveTimeoutSeconds: 120,
      }),
    });
    expect(created.status).toBe('scheduled');

    type Rollout = { status: string; waves: { status: string }[] };
    const phase = (r: Rollout): string => `${r.status}:${r.waves.map((w) => w.status).join(',')}`;
    // Kill once in each phase the rollout passes through (first sighting), then start again on the same data.
    const killedIn: string[] = [];
    const seen = new Set<string>();
    const until = Date.now() + 150_000;
    let last: Rollout | undefined;
    for (;;) {
      last = (await call('/v1/rollouts/rk')) as unknown as Rollout;
      const now = phase(last);
      if (last.status === 'completed') break;
      if (Date.now() > until || last.status === 'paused') {
        const failures = devices.flatMap((d) => d.failures.map((f) => `${d.thingName} ${f}`));
        const probe = new IoTClient({
          endpoint: `http://127.0.0.1:${http}`,
          region: 'us-east-1',
          credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
        });
        for (const w of [0, 1]) {
          const ex = await probe
            .send(new ListJobExecutionsForJobCommand({ jobId: `ota-rk-w${w}` }))
            .catch((e: unknown) => String(e));
          failures.push(`w${w}: ${JSON.stringify(ex)}`);
        }
        failures.push(devices.map((d) => `${d.thingName}:${d.version}:${d.jobsSeen.join('/')}`).join(' '));
        throw new Error(
          `rollout stuck in ${now} (${JSON.stringify(last)}); killed in ${killedIn.join(' | ')}; device failures: ${failures.join('; ')}`,
        );
      }
      if (!seen.has(now)) {
        seen.add(now);
        killedIn.push(now);
        await kill(current);
        current = startStack(args);
        await current.ready;
        continue;
      }
      await new Promise((r) => setTimeout(r, 150));
    }

    console.log(
      `SIGKILLed the fleet service in ${killedIn.length} phases (status:wave statuses):\n  ${killedIn.join('\n  ')}`,
    );
    // Killed in at least: scheduled, the canary deploying or soaking, a later wave deploying or soaking.
    expect(killedIn.length).toBeGreaterThanOrEqual(3);
    expect(last.waves.map((w) => w.status)).toEqual(['passed', 'passed', 'passed']);
    for (const d of devices) {
      expect(d.version).toBe('1.1.0');
      // One install job per device, whatever was repeated after a kill.
      expect(d.jobsSeen.length).toBe(1);
    }
    const audit = (await call('/v1/rollouts/rk/audit')) as { entries: { action: string }[] };
    const actions = audit.entries.map((e) => e.action);
    expect(actions.filter((a) => a === 'start')).toHaveLength(1);
    expect(actions.filter((a) => a === 'last-wave-passed')).toHaveLength(1);
    for (const wave of ['canary', 'wave-2', 'wave-3']) {
      expect(actions.filter((a) => a === `wave ${wave}: deploy`)).toHaveLength(1);
      expect(actions.filter((a) => a === `wave ${wave}: gate-passed`)).toHaveLength(1);
    }
    current.child.kill('SIGTERM');
  }, 300_000);
});

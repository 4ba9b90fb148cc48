/**
 * The fleet service, as its own process, killed with SIGKILL in each phase of a rollout and started again on the
 * same data, against a local IoT core that stays up (as AWS IoT does). Each killed run must end exactly as an
 * uninterrupted run of the same rollout over the same devices:
 *
 * - every device's firmware version;
 * - every device's job executions, as (job id, final status) pairs from ListJobExecutionsForThing;
 * - the rollout's audit log, entry by entry as (actor, action, from, to) — times and the free-text detail (gate
 *   figures, which differ by report timing) excluded;
 * - every device handled each job once (a repeated notification after a restart changes nothing).
 *
 * Real processes and signals, real MQTT devices over mutual TLS, real SQLite, real signed bundles downloaded
 * through their signed URLs. The service binds a free port on every start; devices and the test reach it through
 * a port the test owns for the whole run (stable-port.ts), so no freed port is ever bound again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  IoTClient,
  ListJobExecutionsForThingCommand,
} from '@aws-sdk/client-iot';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyPemOf } from '@otafleet/bundle';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';
import { planWaves } from '@otafleet/fleet-service';
import { bundleBytes, testSigner } from './fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from './fleet-devices.js';
import type { FleetProcessConfig } from './fixtures/fleet-service-process.js';
import { startHeldCalls, type CallMatcher, type HeldCalls } from './held-calls.js';
import { startStablePort, type StablePort } from './stable-port.js';

const CHILD = new URL('./fixtures/fleet-service-process.ts', import.meta.url).pathname;
const signer = testSigner('release-2026');
const silent = pino({ level: 'silent' });
const DEVICES = 5;
const WAVES = [{ count: 2 }, { percent: 60 }, { percent: 100 }];
/** Generous: a loaded machine runs several suites at once. */
const FINISH_MS = 60_000;

type Scenario = 'complete' | 'rollback';

interface Rollout {
  readonly status: string;
  readonly currentWave: number;
  readonly waves: readonly { readonly name: string; readonly status: string }[];
}
interface Snapshot {
  readonly rollout: Rollout;
  readonly devices: readonly FleetDevice[];
}

/**
 * What a run ends as; two runs of one scenario must give equal outcomes. Each run has its own devices and rollout
 * id, so devices are named by their place in the rollout's seeded order (`#0` is the first canary device) and
 * the rollout id in job ids by `R`.
 */
interface Outcome {
  readonly status: string;
  readonly versions: readonly string[];
  readonly jobs: readonly (readonly string[])[];
  readonly audit: readonly string[];
  readonly jobsHandledTwice: readonly string[];
}

interface ServiceProcess {
  readonly child: ChildProcess;
  readonly output: string[];
}

/**
 * One local core and one stable port for the file; the fleet service runs as a child process, killed and started
 * again by the cases (the process one case starts is the one the next case kills).
 */
class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleet-restart-'));
  core!: LocalCore;
  iot!: IoTClient;
  port!: StablePort;
  /** Between the service and the core's control plane: a case can catch the service with a call in flight. */
  calls!: HeldCalls;
  readonly devices: FleetDevice[] = [];
  service: ServiceProcess | undefined;
  token = '';
  bundleId = '';
  config!: FleetProcessConfig;

  async start(): Promise<void> {
    const coreConfig = loadConfig(
      ['--data-dir', join(this.dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
      {},
    );
    this.core = await startLocalCore(coreConfig, silent);
    this.iot = new IoTClient({
      endpoint: this.core.httpEndpoint,
      region: coreConfig.region,
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    });
    this.port = await startStablePort();
    this.calls = await startHeldCalls(this.core.httpEndpoint);
    const trustPath = join(this.dir, 'trust.json');
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
    const service = await issueServiceToDirectory(this.core.pki.dir, 'fleet-service');
    this.config = {
      dataDir: join(this.dir, 'fleet'),
      trustPath,
      publicUrl: this.port.url,
      bundleUrlKey: 'k'.repeat(64),
      controlPlane: this.calls.url,
      accessKeyId: DEV_ACCESS_KEY_ID,
      secretAccessKey: DEV_SECRET_ACCESS_KEY,
      mqttUrl: `mqtts://127.0.0.1:${this.core.mqttTlsPort ?? 0}`,
      caPath: service.caPath,
      certPath: service.certPath,
      keyPath: service.keyPath,
      tickIntervalMs: 100,
    };
    this.token = (await this.startService()) ?? '';
    const upload = await fetch(`${this.port.url}/v1/bundles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(await bundleBytes(signer, '1.1.0')),
    });
    expect(upload.status).toBe(201);
    this.bundleId = ((await upload.json()) as { sha256: string }).sha256;
  }

  /** The next service process, modules loaded, waiting to be told to start. */
  private standby:
    { child: ChildProcess; output: string[]; ready: Promise<{ api: string; token: string | null }> } | undefined;

  private spawnService(): NonNullable<World['standby']> {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CHILD, JSON.stringify(this.config)],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
    const output: string[] = [];
    const ready = new Promise<{ api: string; token: string | null }>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          output.push(line);
          if (line.startsWith('ready ')) resolve(JSON.parse(line.slice(6)) as { api: string; token: string | null });
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) =>
        reject(new Error(`the fleet service exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`)),
      );
    });
    ready.catch(() => undefined); // a standby never started is killed at the end
    return { child, output, ready };
  }

  /** Starts a service process on the data; resolves with the token it created on its first start. */
  async startService(): Promise<string | null> {
    const next = this.standby ?? this.spawnService();
    this.standby = undefined;
    this.service = { child: next.child, output: next.output };
    next.child.stdin?.write('start\n');
    const started = await next.ready;
    this.port.point(Number(new URL(started.api).port));
    this.standby = this.spawnService();
    return started.token;
  }

  async kill(): Promise<void> {
    const child = this.service?.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    this.port.point(undefined);
    await exited;
  }

  /** One API call; a 429 is waited out as its Retry-After says, as a well-behaved client does (5 times at most). */
  async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    for (let attempt = 0; ; attempt++) {
      response = await fetch(`${this.port.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${this.token}`, ...(init.headers as Record<string, string> | undefined) },
      });
      if (response.status !== 429 || attempt >= 5) break;
      await response.arrayBuffer();
      const seconds = Number(response.headers.get('retry-after') ?? '1');
      await new Promise((r) => setTimeout(r, 1000 * (Number.isFinite(seconds) && seconds > 0 ? seconds : 1)));
    }
    const body = (await response.json()) as T;
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  }

  async close(): Promise<void> {
    await this.kill();
    this.standby?.child.kill('SIGKILL');
    await Promise.all(this.devices.map((d) => d.close()));
    await this.port?.close();
    await this.calls?.close();
    this.iot?.destroy();
    await this.core?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One rollout over its own group of fresh devices on 1.0.0. */
class Run {
  readonly devices: FleetDevice[] = [];
  /** The run's devices in the rollout's seeded order: how outcomes name them. */
  readonly order: readonly string[];

  constructor(
    readonly world: World,
    readonly id: string,
    readonly scenario: Scenario,
  ) {
    this.order = planWaves(this.things(), WAVES, id).flatMap((w) => w.thingNames);
  }

  things(): string[] {
    return Array.from({ length: DEVICES }, (_, i) => `${this.id}-pi-${i}`);
  }

  async start(): Promise<void> {
    const { iot, core } = this.world;
    // The rollback scenario: the first canary device fails its install (slowly), the second installs fine (fast),
    // so the canary's gate is breached with one device on the new release to roll back, the same way every run.
    const [failing, fast] = this.order;
    await iot.send(new CreateThingGroupCommand({ thingGroupName: this.id }));
    for (const thingName of this.things()) {
      await iot.send(new CreateThingCommand({ thingName }));
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: this.id, thingName }));
      const fails = this.scenario === 'rollback' && thingName === failing;
      const quick = this.scenario === 'rollback' && thingName === fast;
      this.devices.push(
        await startFleetDevice({
          thingName,
          port: core.mqttTlsPort ?? 0,
          credentials: await issueDeviceToDirectory(core.pki.dir, thingName),
          version: '1.0.0',
          behaviourOf: (v) => (fails && v === '1.1.0' ? 'fails-install' : 'good'),
          download: true,
          installMs: fails ? 800 : quick ? 0 : 300,
        }),
      );
    }
    this.world.devices.push(...this.devices);
    await this.world.call('/v1/rollouts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: this.id,
        name: `1.1.0 to ${this.id}`,
        bundleId: this.world.bundleId,
        target: { kind: 'group', groupName: this.id },
        waves: WAVES,
        onBreach: 'rollback',
        // Every updated device must have reported health on the new release: reports sent while the service
        // is down must reach it afterwards.
        gate: { minReportingFraction: 1, minInstallSuccessRate: 1 },
        soakSeconds: 1,
        waveTimeoutSeconds: 600,
      }),
    });
  }

  snapshot = async (): Promise<Snapshot> => ({
    rollout: await this.world.call<Rollout>(`/v1/rollouts/${this.id}`),
    devices: this.devices,
  });

  /** Polls the rollout until `done` holds (a generous deadline; the service may be restarting meanwhile). */
  async until(what: string, done: (s: Snapshot) => boolean, ms = FINISH_MS): Promise<Snapshot> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await this.snapshot();
      if (done(s)) return s;
      if (Date.now() > deadline) {
        const failures = this.devices.flatMap((d) => d.failures.map((f) => `${d.thingName}: ${f}`));
        throw new Error(
          `${what}: not reached in ${ms} ms; rollout ${JSON.stringify(s.rollout)}; device failures: ${failures.join('; ')}; service output:\n${this.world.service?.output.join('\n') ?? ''}`,
        );
      }
      // 10 polls a second: under the API's rate limit (20 a second), which the service enforces on tests too.
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async outcome(): Promise<Outcome> {
    const final = await this.until('a final status', (s) => ['completed', 'rolled-back'].includes(s.rollout.status));
    const byName = new Map(this.devices.map((d) => [d.thingName, d]));
    const jobs: string[][] = [];
    for (const thingName of this.order) {
      const page = await this.world.iot.send(new ListJobExecutionsForThingCommand({ thingName }));
      jobs.push(
        (page.executionSummaries ?? [])
          .map((e) => `${(e.jobId ?? '?').replace(this.id, 'R')}=${e.jobExecutionSummary?.status ?? '?'}`)
          .sort(),
      );
    }
    const audit = await this.world.call<{
      entries: { actor: string; action: string; from?: string | null; to?: string | null }[];
    }>(`/v1/rollouts/${this.id}/audit`);
    return {
      status: final.rollout.status,
      versions: this.order.map((t) => byName.get(t)?.version ?? 'missing'),
      jobs,
      audit: audit.entries.map((e) => `${e.actor} ${e.action} ${e.from ?? '-'}→${e.to ?? '-'}`),
      jobsHandledTwice: this.devices.flatMap((d) =>
        d.jobsSeen.filter((j, i) => d.jobsSeen.indexOf(j) !== i).map((j) => `${d.thingName}:${j}`),
      ),
    };
  }
}

const world = new World();
beforeAll(() => world.start(), 240_000); // the first start loads every module cold: minutes on a loaded machine
afterAll(() => world.close());

const references = new Map<Scenario, Outcome>();
/** The uninterrupted run of a scenario, once per file. */
async function reference(scenario: Scenario): Promise<Outcome> {
  const known = references.get(scenario);
  if (known !== undefined) return known;
  const run = new Run(world, `ref-${scenario}`, scenario);
  await run.start();
  const outcome = await run.outcome();
  references.set(scenario, outcome);
  return outcome;
}

const wave = (s: Snapshot, i: number): string => s.rollout.waves[i]?.status ?? 'missing';
const hasJobOf = (s: Snapshot, i: number): boolean =>
  s.devices.some((d) => d.jobsSeen.some((j) => j.endsWith(`-w${i}`)));

const PHASES: readonly {
  readonly phase: string;
  readonly scenario: Scenario;
  /** Kill as soon as this holds (undefined: right after the rollout is created). */
  readonly when: ((s: Snapshot) => boolean) | undefined;
  /** Control-plane calls of the run `id` to hold unanswered until the kill. */
  readonly hold?: (id: string) => CallMatcher;
}[] = [
  {
    phase: 'creating the waves (just created: the canary group and job being made)',
    scenario: 'complete',
    when: undefined,
  },
  {
    phase: 'the canary in progress (its devices installing)',
    scenario: 'complete',
    when: (s) => wave(s, 0) === 'deploying' && hasJobOf(s, 0),
  },
  {
    phase: 'the canary soaking (its gate being evaluated)',
    scenario: 'complete',
    when: (s) => wave(s, 0) === 'soaking',
  },
  {
    // The hand-off is one CreateJob (the wave's group is staged beforehand): a few milliseconds that polling
    // would rarely hit, so the test holds that call in flight and kills the service while it waits for it.
    phase: 'promoting to the next wave (its CreateJob in flight)',
    scenario: 'complete',
    hold: (id) => (method, path) => method === 'PUT' && path.startsWith(`/jobs/ota-${id}-w1`),
    when: (s) => wave(s, 0) === 'passed' && world.calls.held > 0 && !hasJobOf(s, 1),
  },
  { phase: 'a breach, rollback in progress', scenario: 'rollback', when: (s) => s.rollout.status === 'rolling-back' },
  { phase: 'completing (the last wave soaking)', scenario: 'complete', when: (s) => wave(s, 2) === 'soaking' },
];

describe('the fleet service killed with SIGKILL mid-rollout ends as an uninterrupted rollout', () => {
  it.each(PHASES.map((p, i) => ({ ...p, id: `k${i}` })))(
    'killed while $phase',
    async ({ id, scenario, when, hold }) => {
      const expected = await reference(scenario);
      // The reference is what it should be: every device updated, or the canary's one update rolled back.
      expect(expected.jobsHandledTwice).toEqual([]);
      expect(expected.versions).toEqual(
        Array.from({ length: DEVICES }, () => (scenario === 'complete' ? '1.1.0' : '1.0.0')),
      );
      expect(expected.status).toBe(scenario === 'complete' ? 'completed' : 'rolled-back');

      const run = new Run(world, id, scenario);
      world.calls.hold(hold?.(id));
      await run.start();
      const at = when === undefined ? await run.snapshot() : await run.until('the phase to kill in', when);
      await world.kill();
      world.calls.hold(undefined);
      await world.startService();
      const outcome = await run.outcome();
      expect(outcome, `killed at ${JSON.stringify(at.rollout)}`).toEqual(expected);
    },
    120_000,
  );
});

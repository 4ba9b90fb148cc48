/**
 * Wave staging against a real local IoT core (AWS's IoT client, real SQLite stores): while the canary runs, the next
 * wave's thing group is filled and no job targets it yet; an engine that dies mid-staging leaves a partial group,
 * and the engine started after it fills it exactly (every add repeated is a no-op); deploying the staged wave adds
 * only a device that joined the wave since.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  IoTClient,
  ListThingsInThingGroupCommand,
} from '@aws-sdk/client-iot';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';
import {
  DEFAULT_GATE,
  createRolloutEngine,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  waveGroupName,
  waveJobId,
  type BundleStore,
  type HealthStore,
  type RolloutDefinition,
  type RolloutStore,
  type StoredBundle,
} from '@otafleet/fleet-service';
import { bundleBytes, chunks, testSigner, trustOf } from './fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from './fleet-devices.js';

const silent = pino({ level: 'silent' });
const signer = testSigner('staging');
const GROUP = 'staging-fleet';
const DEVICES = 60;

let dir: string;
let core: LocalCore;
let rollouts: RolloutStore;
let health: HealthStore;
let bundles: BundleStore;
let bundle: StoredBundle;
const clients: IoTClient[] = [];
const devices: FleetDevice[] = [];

async function thingsInGroup(iot: IoTClient, thingGroupName: string): Promise<string[]> {
  const out = await iot.send(new ListThingsInThingGroupCommand({ thingGroupName, maxResults: 250 }));
  return out.things ?? [];
}

const client = (): IoTClient => {
  const c = new IoTClient({
    endpoint: core.httpEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
};

/** An IoT client whose process "dies" after `adds` AddThingToThingGroup calls: every later call fails. */
const dyingClient = (adds: number): IoTClient => {
  const c = client();
  let seen = 0;
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'AddThingToThingGroupCommand' && ++seen > adds) throw new Error('process died');
      return next(args);
    },
    { step: 'initialize', name: 'dieAfterAdds' },
  );
  return c;
};

const engineOn = (iot: IoTClient) =>
  createRolloutEngine({
    iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: (b) => `https://bundles.invalid/${b.sha256}.otab`,
    now: Date.now,
    logger: silent,
  });

const definition: RolloutDefinition = {
  name: 'staged',
  bundle: { bundleId: '', version: '' },
  target: { kind: 'group', groupName: GROUP },
  waves: [{ count: 2 }, { percent: 100 }],
  seed: 'staging',
  gate: { ...DEFAULT_GATE, minReportingFraction: 0 },
  onBreach: 'pause',
  soakSeconds: 0,
  waveTimeoutSeconds: 3600,
};

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wave-staging-'));
  const config = loadConfig(
    ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
    {},
  );
  core = await startLocalCore(config, silent);
  const iot = client();
  await iot.send(new CreateThingGroupCommand({ thingGroupName: GROUP }));
  for (let i = 0; i < DEVICES; i++) {
    const thingName = `stage-${i}`;
    await iot.send(new CreateThingCommand({ thingName }));
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: GROUP, thingName }));
  }
  rollouts = openSqliteRolloutStore(join(dir, 'fleet.db'));
  health = openSqliteHealthStore(join(dir, 'health.db'));
  bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: trustOf(signer) });
  const put = await bundles.put(chunks(await bundleBytes(signer, '1.1.0')), {
    uploadedBy: 'alice',
    at: Date.now(),
    maxBytes: 10_000_000,
  });
  if (!put.ok) throw new Error(put.error.message);
  bundle = put.value.bundle;
}, 60_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  for (const c of clients) c.destroy();
  await rollouts?.close();
  await health?.close();
  await bundles?.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('wave staging', () => {
  it('fills the next wave while the canary runs; a restart mid-staging fills it exactly; deploy adds only newcomers', async () => {
    const iot = client();
    const def = { ...definition, bundle: { bundleId: bundle.sha256, version: bundle.manifest.version } };
    const dying = engineOn(dyingClient(10));
    await dying.create('st', def, 'alice');
    const wave1 = (await rollouts.devices('st', 1)).map((d) => d.thingName).sort();
    expect(wave1).toHaveLength(DEVICES - 2);

    // First engine: the canary deploys (its own 2 adds), then staging of wave 1 dies after 8 more adds.
    // start, deploy the canary (group filled, job created), then a deploying tick: staging of wave 1 starts in the
    // background and dies partway.
    await dying.tickAll(10);
    const partial = await eventually(async () => {
      const members = await thingsInGroup(iot, waveGroupName('st', 1)).catch(() => []);
      return members.length === 8 ? members : undefined;
    }, 'a partially staged wave 1');
    expect(partial.every((t) => wave1.includes(t))).toBe(true);
    await expect(iot.send(new DescribeJobCommand({ jobId: waveJobId('st', 1) }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });

    // The engine after the restart: same stores, fresh memory; its first tick stages wave 1 again, idempotently.
    const restarted = engineOn(client());
    await restarted.tick('st');
    const staged = await eventually(async () => {
      const members = (await thingsInGroup(iot, waveGroupName('st', 1))).sort();
      return members.length === wave1.length ? members : undefined;
    }, 'wave 1 staged in full');
    expect(staged).toEqual(wave1);
    // Staged, not deployed: no job targets the group, the rollout is still on its canary.
    await expect(iot.send(new DescribeJobCommand({ jobId: waveJobId('st', 1) }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect((await rollouts.waves('st')).map((w) => w.status)).toEqual(['deploying', 'pending']);

    // A device joins the fleet (it lands in wave 1, not deployed yet: only the rollout's store knows it). Then the
    // canary's devices come up and succeed: wave 1 deploys with its staged members plus the newcomer, and its job.
    await iot.send(new CreateThingCommand({ thingName: 'stage-late' }));
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: GROUP, thingName: 'stage-late' }));
    expect(await restarted.addLateJoiners('st')).toEqual(['stage-late']);
    expect((await rollouts.devices('st', 1)).map((d) => d.thingName)).toContain('stage-late');
    for (const d of await rollouts.devices('st', 0)) {
      const credentials = await issueDeviceToDirectory(core.pki.dir, d.thingName);
      devices.push(
        await startFleetDevice({
          thingName: d.thingName,
          port: core.mqttTlsPort ?? 0,
          credentials,
          version: '1.0.0',
          behaviourOf: () => 'good',
        }),
      );
    }
    await eventually(async () => {
      await restarted.tickAll(20);
      return (await rollouts.waves('st'))[1]?.status === 'deploying' ? true : undefined;
    }, 'wave 1 deployed');
    expect((await thingsInGroup(iot, waveGroupName('st', 1))).sort()).toEqual([...wave1, 'stage-late'].sort());
    const job = await iot.send(new DescribeJobCommand({ jobId: waveJobId('st', 1) }));
    expect(job.job?.targets).toHaveLength(1);
  }, 60_000);

  it('stages every later wave during the canary, one after the other, and deploys a wave once per process', async () => {
    const iot = client();
    const calls = new Map<string, number>();
    const counting = client();
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const engine = engineOn(counting);
    const def: RolloutDefinition = {
      ...definition,
      bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
      waves: [{ count: 2 }, { percent: 50 }, { percent: 100 }],
      seed: 'staging-all',
    };
    await engine.create('all', def, 'alice');
    const later = [1, 2].map(async (w) => (await rollouts.devices('all', w)).map((d) => d.thingName).sort());
    const [wave1, wave2] = await Promise.all(later);
    expect((wave1?.length ?? 0) + (wave2?.length ?? 0)).toBe(DEVICES + 1 - 2); // the late joiner of the test above

    await engine.tickAll(10); // start, deploy the canary, the first deploying tick starts staging
    for (const [w, want] of [
      [1, wave1],
      [2, wave2],
    ] as const) {
      const got = await eventually(async () => {
        const members = (await thingsInGroup(iot, waveGroupName('all', w))).sort();
        return members.length === want?.length ? members : undefined;
      }, `wave ${w} staged`);
      expect(got).toEqual(want);
    }
    // Still on the canary (no device of it reports): neither later wave has a job.
    expect((await rollouts.waves('all')).map((w) => w.status)).toEqual(['deploying', 'pending', 'pending']);
    for (const w of [1, 2]) {
      await expect(iot.send(new DescribeJobCommand({ jobId: waveJobId('all', w) }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    }

    // Twenty more ticks while the canary deploys: the gate is read each time, the wave is not deployed again.
    const before = { create: calls.get('CreateJobCommand'), group: calls.get('CreateThingGroupCommand') };
    for (let i = 0; i < 20; i++) await engine.tick('all');
    expect(calls.get('CreateJobCommand')).toBe(before.create);
    expect(calls.get('CreateThingGroupCommand')).toBe(before.group);
    // This engine's first ticks deployed the canary and, once, the other rollout's deploying wave (tickAll).
    expect(calls.get('CreateJobCommand')).toBe(2);
    expect(calls.get('DescribeJobCommand') ?? 0).toBeGreaterThanOrEqual(20);
  }, 60_000);
});

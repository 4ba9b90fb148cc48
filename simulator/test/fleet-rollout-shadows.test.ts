/**
 * The fleet-service issue's rollout proof, asserted from three sides: 120 virtual devices running the real agent on
 * the local stack (core + fleet service in this process). A bad release over 4 waves with action `rollback`: the
 * canary breaches its gate, the rollout stops there, the rollback job returns the canary to the previous release and
 * no other device gets any job — read from the fleet API, from each device's shadow (GetThingShadow, AWS's data-plane
 * client against the core) and from the core's Jobs (ListJobExecutionsForThing). Then a good release on the same
 * fleet completes all 4 waves.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListJobExecutionsForThingCommand } from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY } from '@otafleet/iot-core';
import { rollbackJobId, waveJobId, type CreateRolloutBody } from '@otafleet/fleet-service';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FLEET_GROUP,
  buildReleases,
  fleetApi,
  inMemoryAttachment,
  simTrustSet,
  startSimStack,
  startVirtualFleet,
  type FleetApi,
  type PlannedDevice,
  type RolloutView,
  type SimStack,
  type VirtualFleet,
} from '../src/index.js';
import { createGroups, enrolDevices } from '../src/run/registry.js';
import { eventually } from './fleet-harness.js';

const DEVICES = 120;
const HARDWARE = 'rpi4';
const WAVES = [{ count: 12 }, { percent: 25 }, { percent: 50 }, { percent: 100 }];
const RESTING = new Set(['completed', 'aborted', 'rolled-back', 'canceled', 'paused']);

let dir: string;
let stack: SimStack;
let fleet: VirtualFleet;
let api: FleetApi;
let data: IoTDataPlaneClient;
const bundleIds = new Map<string, string>();
const things = Array.from({ length: DEVICES }, (_, i) => `shadow-dev-${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  const logger = pino({ level: 'warn' });
  dir = await mkdtemp(join(tmpdir(), 'sim-rollout-shadows-'));
  const trustPath = join(dir, 'trust.json');
  const trust = simTrustSet();
  await writeFile(trustPath, JSON.stringify(trust));
  const built = await buildReleases(
    ['1.1.0', '1.2.0'].map((version) => ({ version, hardware: [HARDWARE] })),
    join(dir, 'releases'),
  );
  stack = await startSimStack({ dataDir: dir, trustPath, logger });
  api = fleetApi(stack.fleetApi, stack.token);
  for (const b of built) bundleIds.set(b.version, (await api.uploadBundle(b.bytes)).sha256);
  await createGroups(stack.iot, [FLEET_GROUP]);
  const devices: PlannedDevice[] = things.map((thingName) => ({
    group: FLEET_GROUP,
    // 1.1.0 is the bad release: its post-update health checks fail on every device.
    spec: { thingName, hardwareType: HARDWARE, startVersion: '1.0.0', faults: { unhealthyVersions: ['1.1.0'] } },
  }));
  await enrolDevices(stack.core.registry, devices);
  fleet = await startVirtualFleet({
    devices: devices.map((d) => d.spec),
    seed: 7,
    workers: 0,
    broker: inMemoryAttachment(stack.broker),
    trustSetJson: JSON.stringify(trust),
    dataDir: join(dir, 'fleet'),
    healthReportIntervalSeconds: 5,
    logger: logger.child({ part: 'fleet' }),
  });
  data = new IoTDataPlaneClient({
    endpoint: stack.core.httpEndpoint,
    region: await stack.iot.config.region(),
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 3,
  });
  // Every device has reported its start release in its shadow: the baseline the assertions compare against.
  await eventually(
    async () => ((await reportedVersions()).get('1.0.0') === DEVICES ? true : undefined),
    'every device reporting 1.0.0 in its shadow',
    60_000,
  );
}, 120_000);

afterAll(async () => {
  data?.destroy();
  await fleet?.close();
  await stack?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function reportedVersion(thingName: string): Promise<string | undefined> {
  try {
    const out = await data.send(new GetThingShadowCommand({ thingName }));
    const doc = JSON.parse(Buffer.from(out.payload ?? new Uint8Array()).toString('utf8')) as {
      state?: { reported?: { firmwareVersion?: unknown } };
    };
    const v = doc.state?.reported?.firmwareVersion;
    return typeof v === 'string' ? v : undefined;
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/** Devices per reported firmwareVersion, from every device's classic shadow. */
async function reportedVersions(subset: readonly string[] = things): Promise<Map<string, number>> {
  const byVersion = new Map<string, number>();
  for (let i = 0; i < subset.length; i += 20) {
    const versions = await Promise.all(subset.slice(i, i + 20).map(reportedVersion));
    for (const v of versions) byVersion.set(v ?? 'none', (byVersion.get(v ?? 'none') ?? 0) + 1);
  }
  return byVersion;
}

async function jobsOf(thingName: string): Promise<string[]> {
  const out = await stack.iot.send(new ListJobExecutionsForThingCommand({ thingName, maxResults: 100 }));
  return (out.executionSummaries ?? []).map((e) => e.jobId ?? '').sort();
}

async function runRollout(id: string, version: string): Promise<RolloutView> {
  const body: CreateRolloutBody = {
    id,
    name: `${id}: ${version}`,
    bundleId: bundleIds.get(version) ?? '',
    target: { kind: 'group', groupName: FLEET_GROUP },
    waves: WAVES,
    seed: id,
    onBreach: 'rollback',
    soakSeconds: 0,
    waveTimeoutSeconds: 120,
  };
  await api.createRollout(body);
  return eventually(
    async () => {
      const view = await api.rollout(id);
      return RESTING.has(view.status) ? view : undefined;
    },
    `rollout ${id} at rest`,
    100_000,
  );
}

describe(`a rollout over ${DEVICES} real-agent devices, read from the API, the shadows and the jobs`, () => {
  it('a bad release breaches in the canary, the rollback returns the canary to 1.0.0, no other device is touched', async () => {
    const view = await runRollout('bad-shadows', '1.1.0');
    // The fleet API: the canary failed its gate, the rest never started, the rollout rolled back.
    expect(view.status).toBe('rolled-back');
    expect(view.waves.map((w) => w.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    expect(view.waves.slice(1).every((w) => w.deployedAt === undefined && w.jobId === undefined)).toBe(true);

    // The core's Jobs: the canary had its wave's job and the rollback job; every other device has no execution.
    const jobs = new Map<string, string[]>();
    for (const t of things) jobs.set(t, await jobsOf(t));
    const canary = things.filter((t) => (jobs.get(t) ?? []).length > 0);
    expect(canary).toHaveLength(12);
    for (const t of canary)
      expect(jobs.get(t)).toEqual([rollbackJobId('bad-shadows'), waveJobId('bad-shadows', 0)].sort());

    // The shadows: the canary back on 1.0.0 once its rollback executions end, and so is everyone else (never moved).
    await eventually(
      async () => {
        const executions = await Promise.all(
          canary.map(async (t) => {
            const out = await stack.iot.send(new ListJobExecutionsForThingCommand({ thingName: t }));
            return out.executionSummaries ?? [];
          }),
        );
        const open = executions
          .flat()
          .filter((e) => ['QUEUED', 'IN_PROGRESS'].includes(e.jobExecutionSummary?.status ?? ''));
        return open.length === 0 ? true : undefined;
      },
      'the canary executions final',
      30_000,
    );
    expect(await reportedVersions(canary)).toEqual(new Map([['1.0.0', canary.length]]));
    expect(await reportedVersions()).toEqual(new Map([['1.0.0', DEVICES]]));
    const observed = await fleet.observe();
    expect(observed.filter((o) => o.runningVersion !== '1.0.0')).toEqual([]);
  }, 150_000);

  it('a good release on the same fleet completes all 4 waves; every shadow reports it', async () => {
    const view = await runRollout('good-shadows', '1.2.0');
    expect(view.status).toBe('completed');
    expect(view.waves.map((w) => w.status)).toEqual(['passed', 'passed', 'passed', 'passed']);
    await eventually(
      async () => ((await reportedVersions()).get('1.2.0') === DEVICES ? true : undefined),
      'every shadow reporting 1.2.0',
      30_000,
    );
    // Each device got exactly one of the good rollout's wave jobs.
    const perWave = new Map<string, number>();
    for (const t of things) {
      const mine = (await jobsOf(t)).filter((j) => j.startsWith('ota-good-shadows-w'));
      expect(mine).toHaveLength(1);
      perWave.set(mine[0] ?? '', (perWave.get(mine[0] ?? '') ?? 0) + 1);
    }
    const sizes = [0, 1, 2, 3].map((w) => perWave.get(waveJobId('good-shadows', w)) ?? 0);
    expect(sizes[0]).toBe(12);
    expect(sizes.every((n) => n > 0)).toBe(true);
  }, 150_000);
});

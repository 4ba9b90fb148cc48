/**
 * The rollout engine end to end: a real local IoT core (mutual-TLS MQTT, Jobs, registry) reached through AWS's
 * own IoT client, MQTT devices answering jobs and reporting health, real SQLite stores, real signed bundles.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  IoTClient,
} from '@aws-sdk/client-iot';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  issueServiceToDirectory,
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
  rollbackJobId,
  startHealthIngest,
  waveJobId,
  type BundleStore,
  type HealthIngest,
  type HealthStore,
  type RolloutDefinition,
  type RolloutEngine,
  type RolloutStore,
  type StoredBundle,
} from '@otafleet/fleet-service';
import { bundleBytes, chunks, testSigner, trustOf } from './fleet-bundles.js';
import { startFleetDevice, type Behaviour, type FleetDevice } from './fleet-devices.js';

const silent = pino({ level: 'silent' });
const signer = testSigner('release-2026');

let dir: string;
let core: LocalCore;
let iot: IoTClient;
let service: MqttConnection;
let rollouts: RolloutStore;
let health: HealthStore;
let bundles: BundleStore;
let ingest: HealthIngest;
let engine: RolloutEngine;
const devices: FleetDevice[] = [];

async function upload(version: string): Promise<StoredBundle> {
  const put = await bundles.put(chunks(await bundleBytes(signer, version)), {
    uploadedBy: 'alice',
    at: Date.now(),
    maxBytes: 10_000_000,
  });
  if (!put.ok) throw new Error(put.error.message);
  return put.value.bundle;
}

/** A thing group of `count` devices on `version`, each behaving as `behaviourOf` says once it runs a version. */
async function fleet(group: string, count: number, version: string, behaviourOf: (v: string) => Behaviour) {
  await iot.send(new CreateThingGroupCommand({ thingGroupName: group }));
  const members: FleetDevice[] = [];
  for (let i = 0; i < count; i++) {
    const thingName = `${group}-${i}`;
    await iot.send(new CreateThingCommand({ thingName }));
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: group, thingName }));
    const credentials = await issueDeviceToDirectory(core.pki.dir, thingName);
    members.push(await startFleetDevice({ thingName, port: core.mqttTlsPort ?? 0, credentials, version, behaviourOf }));
  }
  devices.push(...members);
  return members;
}

const definition = (group: string, bundle: StoredBundle, over: Partial<RolloutDefinition> = {}): RolloutDefinition => ({
  name: `${bundle.manifest.version} to ${group}`,
  bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
  target: { kind: 'group', groupName: group },
  waves: [{ count: 2 }, { percent: 50 }, { percent: 100 }],
  seed: `seed-${group}`,
  gate: { ...DEFAULT_GATE, minReportingFraction: 1 },
  onBreach: 'rollback',
  soakSeconds: 0,
  waveTimeoutSeconds: 60,
  ...over,
});

/** Ticks until the rollout reaches one of `statuses` (bounded). */
async function runUntil(id: string, statuses: readonly string[], timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await engine.tick(id);
    const status = (await rollouts.getRollout(id))?.status ?? 'missing';
    if (statuses.includes(status)) return status;
    if (Date.now() > until) throw new Error(`rollout ${id} still ${status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
  const config = loadConfig(
    ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
    {},
  );
  core = await startLocalCore(config, silent);
  iot = new IoTClient({
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  const cred = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
  service = await connectMqtt({
    transport: mqttJsTransport({
      url: `mqtts://127.0.0.1:${core.mqttTlsPort ?? 0}`,
      tls: { ca: await readFile(cred.caPath), cert: await readFile(cred.certPath), key: await readFile(cred.keyPath) },
    }),
    clientId: 'fleet-service',
    logger: silent,
  });
  rollouts = openSqliteRolloutStore(join(dir, 'fleet', 'fleet.db'));
  health = openSqliteHealthStore(join(dir, 'fleet', 'health.db'));
  bundles = openBundleStore({ dir: join(dir, 'fleet', 'bundles'), trust: trustOf(signer) });
  ingest = await startHealthIngest({ bus: service, store: health, filter: 'dt/+/health', logger: silent });
  engine = createRolloutEngine({
    iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: (b) => `https://bundles.invalid/${b.sha256}.otab`,
    now: Date.now,
    logger: silent,
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await ingest?.stop();
  await service?.close();
  await rollouts?.close();
  await health?.close();
  await bundles?.close();
  iot?.destroy();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rollout engine against the local core', () => {
  it('takes a good release through canary and two waves to every device', async () => {
    const members = await fleet('lab-a', 8, '1.0.0', () => 'good');
    const bundle = await upload('1.1.0');
    const created = await engine.create('ra', definition('lab-a', bundle), 'alice');
    expect((await rollouts.devices(created.id, 0)).length).toBe(2);
    expect(await runUntil('ra', ['completed', 'paused', 'rolling-back', 'rolled-back'])).toBe('completed');
    expect(members.map((d) => d.version)).toEqual(members.map(() => '1.1.0'));
    const waves = await rollouts.waves('ra');
    expect(waves.map((w) => [w.name, w.status, w.verdict?.decision])).toEqual([
      ['canary', 'passed', 'pass'],
      ['wave-2', 'passed', 'pass'],
      ['wave-3', 'passed', 'pass'],
    ]);
    const job = await iot.send(new DescribeJobCommand({ jobId: waveJobId('ra', 0) }));
    expect(job.job?.jobProcessDetails?.numberOfSucceededThings).toBe(2);
    const actions = (await rollouts.auditLog('ra')).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['created', 'start', 'wave canary: deploy', 'wave-passed', 'last-wave-passed']),
    );
  }, 120_000);

  it('stops a crashing release in the canary, rolls the canary back and touches no other device', async () => {
    const members = await fleet('lab-b', 8, '1.1.0', (v) => (v === '1.2.0' ? 'crashes' : 'good'));
    const bundle = await upload('1.2.0');
    await engine.create('rb', definition('lab-b', bundle), 'alice');
    expect(await runUntil('rb', ['rolled-back', 'completed', 'paused'])).toBe('rolled-back');
    const canary = new Set((await rollouts.devices('rb', 0)).map((d) => d.thingName));
    expect(canary.size).toBe(2);
    for (const d of members) {
      expect(d.version).toBe('1.1.0');
      if (canary.has(d.thingName)) expect(d.jobsSeen).toEqual([waveJobId('rb', 0), rollbackJobId('rb')]);
      else expect(d.jobsSeen).toEqual([]);
    }
    const [first, ...rest] = await rollouts.waves('rb');
    expect(first?.status).toBe('failed');
    expect(first?.verdict?.findings.find((f) => f.gate === 'crash-rate')?.passed).toBe(false);
    expect(rest.map((w) => w.status)).toEqual(['skipped', 'skipped']);
    expect((await rollouts.getRollout('rb'))?.statusReason).toContain('crash-rate');
  }, 120_000);

  it('pauses on install failures in the canary when the action is pause, and holds', async () => {
    const members = await fleet('lab-c', 6, '1.1.0', (v) => (v === '1.3.0' ? 'fails-install' : 'good'));
    const bundle = await upload('1.3.0');
    await engine.create('rc', definition('lab-c', bundle, { onBreach: 'pause' }), 'alice');
    expect(await runUntil('rc', ['paused', 'completed', 'rolled-back'])).toBe('paused');
    const rollout = await rollouts.getRollout('rc');
    expect(rollout?.statusReason).toContain('install-success: 0 of 2');
    // A paused rollout does not move by itself.
    for (let i = 0; i < 3; i++) expect((await engine.tick('rc')).kind).toBe('idle');
    const touched = members
      .filter((d) => d.jobsSeen.length > 0)
      .map((d) => d.thingName)
      .sort();
    expect(touched).toEqual((await rollouts.devices('rc', 0)).map((d) => d.thingName).sort());
  }, 120_000);

  it('refuses a rollout of a bundle the store does not hold, or with invalid waves, storing nothing', async () => {
    const bundle = await upload('1.4.0');
    await expect(
      engine.create(
        'rx',
        { ...definition('lab-a', bundle), bundle: { bundleId: 'f'.repeat(64), version: '9.9.9' } },
        'alice',
      ),
    ).rejects.toMatchObject({ code: 'UNKNOWN_BUNDLE' });
    await expect(
      engine.create('ry', definition('lab-a', bundle, { waves: [{ percent: 50 }] }), 'alice'),
    ).rejects.toMatchObject({ code: 'INVALID_ROLLOUT' });
    expect(await rollouts.getRollout('rx')).toBeUndefined();
    expect(await rollouts.getRollout('ry')).toBeUndefined();
  });
});

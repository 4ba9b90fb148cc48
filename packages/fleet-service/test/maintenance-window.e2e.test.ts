/**
 * A maintenance window honoured on a test clock: the engine maps the rollout's node-cron window onto the wave
 * job's schedulingConfig, and the local core's real Jobs service (driven by the same TestClock) releases the
 * wave's executions only once the window opens. Real control plane over HTTP, real MQTT devices, real SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
} from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAedesBus, createJobsService, startEmbeddedBroker } from '@otafleet/iot-core';
import { connectClient, startControlPlane, TestClock, type ControlPlaneFixture } from '@otafleet/iot-core/testing';
import {
  DEFAULT_GATE,
  createRolloutEngine,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  waveJobId,
  type BundleStore,
  type HealthStore,
  type RolloutEngine,
  type RolloutStore,
} from '@otafleet/fleet-service';
import { planMaintenance } from '../src/rollout/maintenance-windows.js';
import { bundleBytes, chunks, testSigner, trustOf } from './fleet-bundles.js';

const silent = pino({ level: 'silent' });
const signer = testSigner('release-2026');
// Monday 5 January 2026, 00:00 UTC; the window opens daily at 02:00 UTC for an hour.
const clock = new TestClock(Date.UTC(2026, 0, 5, 0, 0));
const HOUR = 3_600_000;

let dir: string;
let cp: ControlPlaneFixture;
let rollouts: RolloutStore;
let health: HealthStore;
let bundles: BundleStore;
let engine: RolloutEngine;
const clients: MqttClient[] = [];
const notified = new Map<string, string[]>();

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-mw-'));
  cp = await startControlPlane(async (registry, db, arn) => {
    const broker = await startEmbeddedBroker({ logger: silent });
    const bus = createAedesBus(broker.aedes, silent);
    const jobs = await createJobsService({
      db,
      bus,
      registry,
      arn,
      logger: silent,
      now: clock.now,
      tickIntervalMs: 20,
    });
    const { createShadowService } = await import('@otafleet/iot-core');
    const shadows = await createShadowService({ db, bus, logger: silent });
    return {
      jobs,
      shadows,
      brokerPort: broker.port,
      async close() {
        await jobs.close();
        await shadows.close();
        await bus.close();
        await broker.close();
      },
    };
  });
  rollouts = openSqliteRolloutStore(join(dir, 'fleet.db'));
  health = openSqliteHealthStore(join(dir, 'health.db'));
  bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: trustOf(signer) });
  engine = createRolloutEngine({
    iot: cp.iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: (b) => `https://bundles.invalid/${b.sha256}.otab`,
    now: clock.now,
    logger: silent,
  });
  await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'night' }));
  for (let i = 0; i < 3; i++) {
    const thingName = `night-${i}`;
    await cp.iot.send(new CreateThingCommand({ thingName }));
    await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'night', thingName }));
    const client = await connectClient(cp.brokerPort ?? 0, thingName);
    client.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as { execution?: { jobId: string } };
      if (body.execution !== undefined)
        notified.set(thingName, [...(notified.get(thingName) ?? []), body.execution.jobId]);
    });
    await client.subscribeAsync(`$aws/things/${thingName}/jobs/notify-next`, { qos: 1 });
    clients.push(client);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await rollouts?.close();
  await health?.close();
  await bundles?.close();
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('maintenance windows against the local core on a test clock', () => {
  it('releases a wave only inside its window; the engine waits (no gate, no timeout) while it is closed', async () => {
    const put = await bundles.put(chunks(await bundleBytes(signer, '2.0.0')), {
      uploadedBy: 'alice',
      at: clock.now(),
      maxBytes: 10_000_000,
    });
    if (!put.ok) throw new Error(put.error.message);
    const bundle = put.value.bundle;
    const maintenance = planMaintenance({ windows: [{ cron: '0 2 * * *', durationMinutes: 60 }] }, clock.now());
    if (!maintenance.ok) throw new Error(maintenance.error.message);
    await engine.create(
      'mw',
      {
        name: 'night release',
        bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
        target: { kind: 'group', groupName: 'night' },
        waves: [{ percent: 100 }],
        seed: 'mw',
        gate: DEFAULT_GATE,
        onBreach: 'pause',
        soakSeconds: 0,
        waveTimeoutSeconds: 600,
        maintenance: maintenance.value,
        rate: {
          maximumPerMinute: 100,
          exponentialRate: {
            baseRatePerMinute: 10,
            incrementFactor: 2,
            rateIncreaseCriteria: { numberOfSucceededThings: 5 },
          },
        },
      },
      'alice',
    );
    expect((await engine.tick('mw')).kind).toBe('moved'); // start
    expect((await engine.tick('mw')).kind).toBe('moved'); // wave deployed: the job exists
    const jobId = waveJobId('mw', 0);
    const described = await cp.iot.send(new DescribeJobCommand({ jobId }));
    expect(described.job?.schedulingConfig?.maintenanceWindows).toEqual([
      { startTime: 'cron(0 2 * * ? *)', durationInMinutes: 60 },
    ]);
    expect(described.job?.jobExecutionsRolloutConfig).toEqual({
      maximumPerMinute: 100,
      exponentialRate: {
        baseRatePerMinute: 10,
        incrementFactor: 2,
        rateIncreaseCriteria: { numberOfSucceededThings: 5 },
      },
    });
    expect(described.job?.status).toBe('SCHEDULED');

    // Hours pass before the window (more than the wave's 10-minute timeout): nothing is released, nothing fails.
    clock.advance(HOUR + 59 * 60_000); // 01:59
    await new Promise((r) => setTimeout(r, 300)); // the core ticks every 20 ms
    expect(await engine.tick('mw')).toEqual({ kind: 'idle', why: 'wave-1: waiting for a maintenance window' });
    expect([...notified.values()].flat()).toEqual([]);
    const before = await cp.iot.send(new DescribeJobCommand({ jobId }));
    expect(before.job?.status).toBe('SCHEDULED');

    clock.advance(60_000); // 02:00: the window opens
    const inWindow = await waitFor('the job to leave SCHEDULED', async () => {
      const d = await cp.iot.send(new DescribeJobCommand({ jobId }));
      return d.job?.status === 'IN_PROGRESS' ? d : undefined;
    });
    expect(inWindow.job?.jobProcessDetails?.numberOfQueuedThings).toBe(3);
    await waitFor('every device to be notified', () => Promise.resolve(notified.size === 3 ? true : undefined));
    expect([...notified.values()].map((jobs) => jobs[0])).toEqual([jobId, jobId, jobId]);
    const tick = await engine.tick('mw');
    expect(tick).toEqual({ kind: 'idle', why: 'wave-1: 3 of 3 executions to settle' });
    expect((await rollouts.getRollout('mw'))?.status).toBe('running');

    clock.advance(HOUR); // 03:00: the window closes with the executions unfinished; the job waits for tomorrow's
    await waitFor('the job to be SCHEDULED again', async () => {
      const d = await cp.iot.send(new DescribeJobCommand({ jobId }));
      return d.job?.status === 'SCHEDULED' ? d : undefined;
    });
    expect(await engine.tick('mw')).toEqual({ kind: 'idle', why: 'wave-1: waiting for a maintenance window' });
    expect((await rollouts.waves('mw'))[0]?.status).toBe('deploying');
  }, 60_000);

  it('starts a scheduled rollout at its start time on the same clock, not before', async () => {
    const bundle = (await bundles.list())[0];
    if (bundle === undefined) throw new Error('the first test stores a bundle');
    const startAt = clock.now() + 2 * HOUR;
    await engine.create(
      'later',
      {
        name: 'scheduled',
        bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
        target: { kind: 'group', groupName: 'night' },
        waves: [{ percent: 100 }],
        seed: 'later',
        gate: DEFAULT_GATE,
        onBreach: 'pause',
        soakSeconds: 0,
        waveTimeoutSeconds: 600,
        startAt,
      },
      'alice',
    );
    expect(await engine.tick('later')).toEqual({ kind: 'idle', why: `starts at ${new Date(startAt).toISOString()}` });
    clock.advance(2 * HOUR - 1);
    expect((await engine.tick('later')).kind).toBe('idle');
    expect((await rollouts.getRollout('later'))?.status).toBe('scheduled');
    clock.advance(1);
    expect((await engine.tick('later')).kind).toBe('moved');
    expect((await rollouts.getRollout('later'))?.status).toBe('running');
  });
});

/**
 * The agent end to end: a real agent process started from its configuration file, directory slots with the sample
 * application run by its supervisor, the local IoT core over mTLS, a local HTTP server serving signed bundles, jobs
 * created with @aws-sdk/client-iot. Each case asserts the Jobs execution (DescribeJobExecution), the slots and what
 * the application serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import type { JobExecution } from '@aws-sdk/client-iot';
import { startE2eCore, isTerminal, type E2eCore } from './e2e-core.js';
import {
  buildCustomBundle,
  buildSampleBundles,
  createE2eDevice,
  installDocument,
  previousSlotDocument,
  type AgentProcess,
  type E2eDevice,
  type Samples,
} from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, type BundleServer } from './e2e-net.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
const running: AgentProcess[] = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

async function device(thing: string): Promise<{ dev: E2eDevice; agent: AgentProcess }> {
  const credentials = await core.addDevice(thing);
  const dev = await createE2eDevice({
    thing,
    samples,
    mqttPort: core.mqttPort,
    credentials,
    appPort: await freePort(),
  });
  const agent = dev.start();
  running.push(agent);
  await agent.waitForLog((l) => l['msg'] === 'agent started');
  await eventually(() => dev.appServes(), 'the factory application to answer');
  return { dev, agent };
}

/**
 * The slots once no trial is left: SUCCEEDED is accepted by the Jobs service before the device commits (by design),
 * so a read right after seeing SUCCEEDED can still find the trial.
 */
const settledSlots = (dev: E2eDevice) =>
  eventually(async () => {
    const s = await dev.slots();
    return s.trial === undefined ? s : undefined;
  }, 'the commit after SUCCEEDED');

async function runJob(dev: E2eDevice, jobId: string, document: unknown): Promise<JobExecution> {
  await core.createJob(jobId, dev.thing, document);
  return core.waitForExecution(jobId, dev.thing, isTerminal, 90_000);
}

describe('agent end to end (real process, local IoT core, directory slots)', () => {
  it('installs, refuses and rolls back with the true reason, and always keeps a good release running', async () => {
    const { dev } = await device('e2e-pi-main');
    expect(await dev.appServes()).toBe('http-service 1.0.0');

    // 1.0.0 → 1.1.0
    const v110 = await serve(server, 'main-1.1.0.otab', samples.byVersion('1.1.0'));
    let e = await runJob(dev, 'main-110', installDocument(v110, dev.appPort));
    expect(e.status).toBe('SUCCEEDED');
    expect(e.statusDetails?.detailsMap).toMatchObject({
      phase: 'succeeded',
      fromVersion: '1.0.0',
      toVersion: '1.1.0',
      slot: 'B',
    });
    let slots = await settledSlots(dev);
    expect(slots).toMatchObject({ booted: 'B', committed: 'B', trial: undefined });
    expect(slots.versions.B?.version).toBe('1.1.0');
    expect(
      await eventually(
        async () => ((await dev.appServes()) === 'http-service 1.1.0' ? 'yes' : undefined),
        '1.1.0 to answer',
      ),
    ).toBe('yes');

    // 1.2.0: /health answers 503 → back to 1.1.0, HEALTH_CHECK_FAILED
    const v120 = await serve(server, 'main-1.2.0.otab', samples.byVersion('1.2.0'));
    e = await runJob(dev, 'main-120', installDocument(v120, dev.appPort));
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap).toMatchObject({
      phase: 'rolled-back',
      reasonCode: 'HEALTH_CHECK_FAILED',
      toVersion: '1.2.0',
    });
    slots = await dev.slots();
    expect(slots).toMatchObject({
      booted: 'B',
      committed: 'B',
      trial: undefined,
      failedTrial: { slot: 'A', reason: 'rolled-back' },
    });
    expect(
      await eventually(
        async () => ((await dev.appServes()) === 'http-service 1.1.0' ? 'yes' : undefined),
        '1.1.0 back',
      ),
    ).toBe('yes');

    // 1.3.0: exits on start → back to 1.1.0, CRASH_LOOP
    const v130 = await serve(server, 'main-1.3.0.otab', samples.byVersion('1.3.0'));
    e = await runJob(dev, 'main-130', installDocument(v130, dev.appPort));
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap).toMatchObject({ phase: 'rolled-back', reasonCode: 'CRASH_LOOP' });
    expect((await dev.slots()).committed).toBe('B');
    expect(
      await eventually(
        async () => ((await dev.appServes()) === 'http-service 1.1.0' ? 'yes' : undefined),
        '1.1.0 back',
      ),
    ).toBe('yes');

    // Bundles the device must refuse: nothing switched, the reason code as protocol says.
    const refused: [
      string,
      () => Promise<{ path: string; version: string; securityVersion: number }>,
      (b: Buffer) => Buffer,
      string,
      string,
    ][] = [
      [
        'tampered',
        () => Promise.resolve(samples.byVersion('1.2.0')),
        (b) => {
          b[b.byteLength - 100] = (b[b.byteLength - 100] ?? 0) ^ 0xff;
          return b;
        },
        'FAILED',
        'BUNDLE_PAYLOAD_DIGEST_MISMATCH',
      ],
      [
        'unsigned',
        async () => ({
          ...(await buildCustomBundle(samples.dir, { version: '1.4.0', securityVersion: 2, signed: false })),
          version: '1.4.0',
          securityVersion: 2,
        }),
        (b) => b,
        'FAILED',
        'BUNDLE_UNSIGNED',
      ],
      [
        'expired',
        async () => ({
          ...(await buildCustomBundle(samples.dir, {
            version: '1.4.0',
            securityVersion: 2,
            createdAt: '2020-01-01T00:00:00Z',
            expiresAt: '2021-01-01T00:00:00Z',
          })),
          version: '1.4.0',
          securityVersion: 2,
        }),
        (b) => b,
        'FAILED',
        'BUNDLE_EXPIRED',
      ],
      [
        'downgrade',
        async () => ({
          ...(await buildCustomBundle(samples.dir, { version: '1.0.5', securityVersion: 2 })),
          version: '1.0.5',
          securityVersion: 2,
        }),
        (b) => b,
        'REJECTED',
        'BUNDLE_DOWNGRADE',
      ],
      [
        'wrong-hardware',
        async () => ({
          ...(await buildCustomBundle(samples.dir, { version: '1.4.0', securityVersion: 2, hardware: ['rpi5'] })),
          version: '1.4.0',
          securityVersion: 2,
        }),
        (b) => b,
        'REJECTED',
        'BUNDLE_HARDWARE_MISMATCH',
      ],
    ];
    for (const [name, make, mutate, status, reasonCode] of refused) {
      const before = await dev.slots();
      const b = await serve(server, `main-${name}.otab`, await make(), mutate);
      e = await runJob(dev, `main-${name}`, installDocument(b, dev.appPort));
      expect({ name, status: e.status, reasonCode: e.statusDetails?.detailsMap?.['reasonCode'] }).toEqual({
        name,
        status,
        reasonCode,
      });
      expect(e.statusDetails?.detailsMap?.['phase']).toBe('failed');
      const after = await dev.slots();
      expect({ booted: after.booted, committed: after.committed, trial: after.trial }).toEqual({
        booted: before.booted,
        committed: before.committed,
        trial: before.trial,
      });
    }

    // A job document the agent cannot use: REJECTED, nothing downloaded, the agent keeps running.
    const requestsBefore = server.requests.length;
    e = await runJob(dev, 'main-bad-doc', { operation: 'ota.install', schemaVersion: 2, component: 'application' });
    expect(e.status).toBe('REJECTED');
    expect(e.statusDetails?.detailsMap?.['reasonCode']).toBe('INVALID_JOB_DOCUMENT');
    expect(server.requests.length).toBe(requestsBefore);

    // The other slot holds 1.3.0, whose trial failed: not a release to go back to.
    e = await runJob(dev, 'main-rollback-refused', previousSlotDocument(dev.appPort));
    expect(e.status).toBe('REJECTED');
    expect(e.statusDetails?.detailsMap?.['reasonCode']).toBe('ROLLBACK_UNAVAILABLE');
    expect(await dev.appServes()).toBe('http-service 1.1.0');
  }, 300_000);

  it('an ota.rollback job (previous-slot) returns the device to 1.0.0 and reports ROLLED_BACK', async () => {
    const { dev } = await device('e2e-pi-rollback');
    const v110 = await serve(server, 'rb-1.1.0.otab', samples.byVersion('1.1.0'));
    let e = await runJob(dev, 'rb-110', installDocument(v110, dev.appPort));
    expect(e.status).toBe('SUCCEEDED');
    e = await runJob(dev, 'rb-back', previousSlotDocument(dev.appPort, '1.0.0'));
    expect(e.status).toBe('SUCCEEDED');
    expect(e.statusDetails?.detailsMap).toMatchObject({
      phase: 'succeeded',
      reasonCode: 'ROLLED_BACK',
      toVersion: '1.0.0',
      slot: 'A',
    });
    const slots = await settledSlots(dev);
    expect(slots).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
    expect(
      await eventually(
        async () => ((await dev.appServes()) === 'http-service 1.0.0' ? 'yes' : undefined),
        '1.0.0 back',
      ),
    ).toBe('yes');
  }, 180_000);
});

/**
 * Virtual devices running the real agent on the local core: a real job, real signed bundles over real HTTP, the
 * shared SQLite journal, in-memory identity streams to the embedded broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GetThingShadowCommand, IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY } from '@otafleet/iot-core';
import { silentLogger } from '@otafleet/iot-core/testing';
import { startVirtualFleet, type VirtualFleet } from '../src/index.js';
import {
  eventually,
  HARDWARE,
  installDocument,
  isTerminal,
  startFleetStack,
  type FleetStack,
} from './fleet-harness.js';

let stack: FleetStack;
const fleets: VirtualFleet[] = [];
beforeAll(async () => {
  stack = await startFleetStack();
}, 60_000);
afterAll(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  await stack?.close();
});

describe('a virtual device (main thread)', () => {
  it('takes a real job and ends on the new version; an unhealthy release rolls back, FAILED with its reason code', async () => {
    const things = ['sim-good-1', 'sim-bad-1'];
    await stack.addThings(things);
    const fleet = await startVirtualFleet({
      devices: [
        { thingName: 'sim-good-1', hardwareType: HARDWARE, startVersion: '1.0.0', faults: {} },
        {
          thingName: 'sim-bad-1',
          hardwareType: HARDWARE,
          startVersion: '1.0.0',
          faults: { unhealthyVersions: ['1.1.0'] },
        },
      ],
      seed: 1,
      workers: 0,
      broker: stack.broker,
      trustSetJson: stack.trustSetJson,
      dataDir: join(stack.dir, 'fleet-a'),
      logger: silentLogger,
    });
    fleets.push(fleet);
    await eventually(async () => ((await fleet.observe()).every((o) => o.online) ? true : undefined), 'devices online');
    const v110 = await stack.bundle('1.1.0');
    await stack.createJob('to-110', things, installDocument(v110));

    const good = await stack.waitForExecution('to-110', 'sim-good-1', isTerminal);
    expect(good.status).toBe('SUCCEEDED');
    expect(good.statusDetails?.detailsMap).toMatchObject({
      phase: 'succeeded',
      fromVersion: '1.0.0',
      toVersion: '1.1.0',
    });
    const bad = await stack.waitForExecution('to-110', 'sim-bad-1', isTerminal);
    expect(bad.status).toBe('FAILED');
    expect(bad.statusDetails?.detailsMap).toMatchObject({ phase: 'rolled-back', reasonCode: 'HEALTH_CHECK_FAILED' });

    const [g, b] = await eventually(async () => {
      const obs = await fleet.observe();
      return obs.every((o) => o.phase === 'idle' && o.online) ? obs : undefined;
    }, 'both idle again');
    expect(g).toMatchObject({ thingName: 'sim-good-1', runningVersion: '1.1.0', rollbacks: [], reboots: 1 });
    expect(g!.jobs).toContainEqual({ jobId: 'to-110', status: 'SUCCEEDED' });
    expect(b).toMatchObject({
      thingName: 'sim-bad-1',
      runningVersion: '1.0.0',
      rollbacks: [{ jobId: 'to-110', reasonCode: 'HEALTH_CHECK_FAILED' }],
    });
    expect(b!.jobs).toContainEqual({ jobId: 'to-110', status: 'FAILED', reasonCode: 'HEALTH_CHECK_FAILED' });
    expect(g!.messagesOut).toBeGreaterThan(3);
    expect(g!.messagesIn).toBeGreaterThan(3);

    // Each virtual reboot is a new boot to the agent (a new kernel boot id): the shadow counts them.
    const data = new IoTDataPlaneClient({
      endpoint: stack.testCore.core.httpEndpoint,
      region: stack.testCore.config.region,
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
      maxAttempts: 3,
    });
    const reported = async (thingName: string): Promise<{ bootId: string; bootCount: number }> => {
      const out = await data.send(new GetThingShadowCommand({ thingName }));
      return (
        JSON.parse(new TextDecoder().decode(out.payload)) as {
          state: { reported: { bootId: string; bootCount: number } };
        }
      ).state.reported;
    };
    for (const o of [g!, b!]) {
      expect(o.reboots).toBeGreaterThan(0);
      const r = await eventually(
        async () => {
          const now = await reported(o.thingName);
          return now.bootCount === 1 + o.reboots ? now : undefined;
        },
        `${o.thingName} reports boot ${1 + o.reboots}`,
      );
      expect(r.bootId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    expect((await reported('sim-good-1')).bootId).not.toBe((await reported('sim-bad-1')).bootId);
    data.destroy();
  }, 60_000);
});

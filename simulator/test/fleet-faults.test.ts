/**
 * Fault injection on virtual devices running the real agent: corrupted and rate-capped downloads, network drops,
 * flapping, offline windows, late joiners, clock skew, crashing releases; and seeded fleet percentages. The fleet's
 * tally is kept as devices change (no walk per poll): through such faults it equals, at every moment sampled, the
 * tally walked from every device's observation at that same moment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { silentLogger } from '@otafleet/iot-core/testing';
import {
  applyFleetFaults,
  FleetFaultError,
  startVirtualFleet,
  type BrokerAttachment,
  type DeviceFaults,
  type DeviceObservation,
  type FleetTally,
  type VirtualDeviceSpec,
  type VirtualFleet,
} from '../src/index.js';
import {
  deviceSpec,
  eventually,
  installDocument,
  isTerminal,
  startFleetStack,
  type FleetStack,
} from './fleet-harness.js';

let stack: FleetStack;
beforeAll(async () => {
  stack = await startFleetStack();
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const spec = deviceSpec;

describe('faults on virtual devices', () => {
  it('each fault acts through the real agent and the job ends in its true final state', async () => {
    const RATE = 4_000;
    const devices = [
      spec('f-corrupt', { corruptDownload: true }),
      spec('f-slow', { linkBytesPerSecond: RATE }),
      spec('f-drop', { networkDrops: [{ atMs: 0, forMs: 2_000 }] }),
      spec('f-flap', { flapping: { upMs: 1_500, downMs: 400 } }),
      spec('f-offline', { offlineWindows: [{ fromMs: 0, toMs: 2_500 }] }),
      spec('f-late', {}, { joinAfterMs: 2_500 }),
      // A device clock 100 years ahead: the bundle (valid until 2099) has expired by its reckoning.
      spec('f-skew', { clockSkewMs: 100 * 365 * 24 * 3600 * 1000 }),
      spec('f-crashing', { crashingVersions: ['1.1.0'] }),
    ];
    const things = devices.map((d) => d.thingName);
    await stack.addThings([...things, 'f-added']);
    let fleet: VirtualFleet | undefined;
    try {
      fleet = await startVirtualFleet({
        devices,
        seed: 3,
        workers: 0,
        broker: stack.broker,
        trustSetJson: stack.trustSetJson,
        dataDir: join(stack.dir, 'fleet-faults'),
        bundleVerification: 'per-device', // every device verifies in full; the test below covers the default
        logger: silentLogger,
      });
      const f = fleet;
      // Not there yet: the late joiner, the offline device, the dropped one.
      const early = await f.observe();
      for (const t of ['f-late', 'f-offline', 'f-drop']) {
        expect(early.find((o) => o.thingName === t)?.online).toBe(false);
      }
      await f.addDevices([spec('f-added', {})]);
      await eventually(
        async () => ((await f.observe()).every((o) => o.online) ? true : undefined),
        'all online',
        30_000,
      );

      const v110 = await stack.bundle('1.1.0');
      const created = Date.now();
      await stack.createJob('faults-110', [...things, 'f-added'], installDocument(v110, { maxRetries: 3 }));
      const final = async (t: string) => stack.waitForExecution('faults-110', t, isTerminal, 60_000);

      for (const t of ['f-slow', 'f-drop', 'f-flap', 'f-offline', 'f-late', 'f-added']) {
        expect({ t, status: (await final(t)).status }).toEqual({ t, status: 'SUCCEEDED' });
      }
      // The flipped byte is caught by the agent's verification: the job fails with the agent's reason code.
      const corrupt = await final('f-corrupt');
      expect(corrupt.status).toBe('FAILED');
      expect(corrupt.statusDetails?.detailsMap?.['reasonCode']).toMatch(/^(DOWNLOAD|BUNDLE_PAYLOAD)_DIGEST_MISMATCH$/);
      // The rate cap is the link's: the bundle cannot arrive faster than size / rate.
      const slow = await final('f-slow');
      expect((slow.lastUpdatedAt?.getTime() ?? 0) - created).toBeGreaterThanOrEqual((v110.size / RATE) * 1000 * 0.8);
      const skew = await final('f-skew');
      expect(skew.status).toBe('FAILED');
      expect(skew.statusDetails?.detailsMap?.['reasonCode']).toBe('BUNDLE_EXPIRED');
      const crashing = await final('f-crashing');
      expect(crashing.status).toBe('FAILED');
      expect(crashing.statusDetails?.detailsMap).toMatchObject({ phase: 'rolled-back', reasonCode: 'CRASH_LOOP' });

      const obs = await eventually(async () => {
        const o = await f.observe();
        return o.every((d) => d.phase === 'idle') ? o : undefined;
      }, 'all settled');
      const by = new Map(obs.map((o) => [o.thingName, o]));
      expect(by.get('f-crashing')).toMatchObject({
        runningVersion: '1.0.0',
        rollbacks: [{ reasonCode: 'CRASH_LOOP' }],
      });
      expect(by.get('f-skew')?.runningVersion).toBe('1.0.0');
      for (const t of ['f-slow', 'f-drop', 'f-flap', 'f-offline', 'f-late', 'f-added']) {
        expect({ t, v: by.get(t)?.runningVersion }).toEqual({ t, v: '1.1.0' });
      }
      expect(by.get('f-corrupt')).toMatchObject({ runningVersion: '1.0.0' });
      // Only the first download of a bundle is corrupted: the operator's retry goes through.
      await stack.createJob('faults-110-retry', ['f-corrupt'], installDocument(v110));
      const retry = await stack.waitForExecution('faults-110-retry', 'f-corrupt', isTerminal, 60_000);
      expect(retry.status).toBe('SUCCEEDED');
    } finally {
      await fleet?.close();
    }
  }, 120_000);
});

describe("bundleVerification 'per-content-hash'", () => {
  it("checks the shared file's signature once, yet each device's own clock, hardware and copy still decide", async () => {
    const devices = [
      spec('h-ok-1', {}),
      spec('h-ok-2', {}),
      spec('h-ok-3', {}),
      // Its clock is 100 years ahead: the bundle (valid until 2099) has expired by its reckoning, not by the others'.
      spec('h-skew', { clockSkewMs: 100 * 365 * 24 * 3600 * 1000 }),
      spec('h-other-board', {}, { hardwareType: 'other-board' }),
      // Its own copy, flipped in transit: verified in full, whatever the shared file's check said.
      spec('h-corrupt', { corruptDownload: true }),
    ];
    const things = devices.map((d) => d.thingName);
    await stack.addThings(things);
    let fleet: VirtualFleet | undefined;
    try {
      fleet = await startVirtualFleet({
        devices,
        seed: 5,
        workers: 0,
        broker: stack.broker,
        trustSetJson: stack.trustSetJson,
        dataDir: join(stack.dir, 'fleet-verify-once'),
        bundleVerification: 'per-content-hash',
        logger: silentLogger,
      });
      const f = fleet;
      await eventually(async () => ((await f.observe()).every((o) => o.online) ? true : undefined), 'all online');
      const v120 = await stack.bundle('1.2.0');
      await stack.createJob('verify-once-120', things, installDocument(v120));
      const final = (t: string) => stack.waitForExecution('verify-once-120', t, isTerminal, 60_000);
      const reason = async (t: string) => {
        const e = await final(t);
        return { t, status: e.status, reasonCode: e.statusDetails?.detailsMap?.['reasonCode'] };
      };
      for (const t of ['h-ok-1', 'h-ok-2', 'h-ok-3']) expect((await reason(t)).status).toBe('SUCCEEDED');
      expect(await reason('h-skew')).toEqual({ t: 'h-skew', status: 'FAILED', reasonCode: 'BUNDLE_EXPIRED' });
      // Not this device's hardware: the agent refuses the job (REJECTED), as it would after a full verification.
      expect(await reason('h-other-board')).toEqual({
        t: 'h-other-board',
        status: 'REJECTED',
        reasonCode: 'BUNDLE_HARDWARE_MISMATCH',
      });
      expect((await reason('h-corrupt')).reasonCode).toMatch(/^(DOWNLOAD|BUNDLE_PAYLOAD)_DIGEST_MISMATCH$/);
      const obs = await eventually(async () => {
        const o = await f.observe();
        return o.every((d) => d.phase === 'idle') ? o : undefined;
      }, 'all settled');
      const running = Object.fromEntries(obs.map((o) => [o.thingName, o.runningVersion]));
      expect(running).toEqual({
        'h-ok-1': '1.2.0',
        'h-ok-2': '1.2.0',
        'h-ok-3': '1.2.0',
        'h-skew': '1.0.0',
        'h-other-board': '1.0.0',
        'h-corrupt': '1.0.0',
      });
    } finally {
      await fleet?.close();
    }
  }, 120_000);
});

describe('fleet fault percentages', () => {
  const fleet = Array.from({ length: 200 }, (_v, i) =>
    spec(`p-${i}`, {}, { hardwareType: i % 2 === 0 ? 'board-a' : 'board-b' }),
  );
  const rules = [
    { percent: 10, faults: { unhealthyVersions: ['2.0.0'] } },
    { percent: 50, faults: { linkBytesPerSecond: 1000 }, hardwareType: 'board-b' },
  ];
  const placed = (specs: readonly VirtualDeviceSpec[], pick: (f: DeviceFaults) => boolean): string[] =>
    specs.filter((s) => pick(s.faults)).map((s) => s.thingName);

  it('places the same faults for the same seed, other places for another seed, in the stated shares', () => {
    const a = applyFleetFaults(fleet, rules, 42);
    const b = applyFleetFaults(fleet, rules, 42);
    const c = applyFleetFaults(fleet, rules, 43);
    const unhealthy = (f: DeviceFaults): boolean => f.unhealthyVersions !== undefined;
    const slow = (f: DeviceFaults): boolean => f.linkBytesPerSecond !== undefined;
    expect(placed(a, unhealthy)).toEqual(placed(b, unhealthy));
    expect(placed(a, slow)).toEqual(placed(b, slow));
    expect(placed(a, unhealthy)).not.toEqual(placed(c, unhealthy));
    expect(placed(a, unhealthy)).toHaveLength(20);
    expect(placed(a, slow)).toHaveLength(50);
    expect(a.filter((s) => slow(s.faults)).every((s) => s.hardwareType === 'board-b')).toBe(true);
    // The input is not changed.
    expect(fleet.every((s) => Object.keys(s.faults).length === 0)).toBe(true);
  });

  it('refuses a share outside 0–100 with the rule named', () => {
    expect(() => applyFleetFaults(fleet, [{ percent: 120, faults: {} }], 1)).toThrow(FleetFaultError);
    expect(() => applyFleetFaults(fleet, [rules[0]!, { percent: -1, faults: {} }], 1)).toThrow(/fault rule 1/);
  });
});

/**
 * The stack's in-memory streams, each closing 50 ms after destroy() as a socket does after its I/O: a link taken
 * down counts as down at once, while the connection has yet to notice (in-memory ends close within a tick).
 */
function lateClosing(b: BrokerAttachment): BrokerAttachment {
  if (b.kind !== 'in-memory') throw new Error('the fleet stack attaches in memory');
  return {
    kind: 'in-memory',
    connect(thingName) {
      const s = b.connect(thingName);
      const destroy = s._destroy.bind(s);
      s._destroy = (error, callback) => void setTimeout(() => destroy(error, callback), 50);
      return s;
    },
  };
}

/** The tally as the host once computed it: a walk over every device (FleetTally's meanings). */
function walkedTally(observations: readonly DeviceObservation[]): FleetTally {
  return {
    devices: observations.length,
    online: observations.filter((o) => o.online).length,
    connectedOnce: observations.filter((o) => o.online || o.messagesIn > 0).length,
    ready: observations.filter((o) => o.online && o.healthReports > 0).length,
  };
}

interface Sampler {
  readonly samples: FleetTally[];
  readonly mismatches: { readonly kept: FleetTally; readonly walked: FleetTally }[];
  stop(): Promise<void>;
}

/**
 * Compares the kept tally with the walked one every few ms. With workers: 0 both calls read the host in the same
 * synchronous run (each fleet call reaches its host before its first await), so they see the same moment.
 */
function sample(fleet: VirtualFleet): Sampler {
  const samples: FleetTally[] = [];
  const mismatches: Sampler['mismatches'][number][] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [kept, observed] = await Promise.all([fleet.tally(), fleet.observe()]);
      const walked = walkedTally(observed);
      samples.push(kept);
      if (JSON.stringify(kept) !== JSON.stringify(walked)) mismatches.push({ kept, walked });
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    samples,
    mismatches,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe("the fleet's kept tally", () => {
  it('equals the walked tally at every sampled moment through faults, and counts a closed fleet offline', async () => {
    const devices = [
      spec('t-plain', {}),
      spec('t-drop', { networkDrops: [{ atMs: 1_500, forMs: 800 }] }),
      spec('t-flap', { flapping: { upMs: 600, downMs: 300 } }),
      spec('t-offline', { offlineWindows: [{ fromMs: 1_200, toMs: 2_200 }] }),
      spec('t-crash', { crashAtStep: 'state:Downloading' }),
      spec('t-cut', { powerCutAtStep: { step: 'state:HealthChecking', offMs: 400 } }),
      spec('t-cut-reboot', { powerCutAtStep: { step: 'activate:reboot', offMs: 400 } }),
      spec('t-late', {}, { joinAfterMs: 800 }),
    ];
    const updated = ['t-plain', 't-crash', 't-cut', 't-cut-reboot'];
    await stack.addThings([...devices.map((d) => d.thingName), 't-added']);
    const fleet = await startVirtualFleet({
      devices,
      seed: 11,
      workers: 0,
      broker: lateClosing(stack.broker),
      trustSetJson: stack.trustSetJson,
      dataDir: join(stack.dir, 'fleet-tally'),
      logger: silentLogger,
    });
    const sampler = sample(fleet);
    const startedAt = Date.now();
    try {
      const steady = (o: readonly DeviceObservation[]): boolean => o.every((d) => d.thingName === 't-flap' || d.online);
      await eventually(async () => (steady(await fleet.observe()) ? true : undefined), 'all but t-flap online');
      // A job drives the crash and the power cuts (at a journal step, at the reboot) while the others stay put.
      await stack.createJob('tally-110', updated, installDocument(await stack.bundle('1.1.0')));
      for (const t of updated) {
        const e = await stack.waitForExecution('tally-110', t, isTerminal, 60_000);
        expect({ t, status: e.status }).toEqual({ t, status: 'SUCCEEDED' });
      }
      // Past the drop and the offline window, then a device added while the others run.
      await new Promise((r) => setTimeout(r, Math.max(0, 2_600 - (Date.now() - startedAt))));
      await fleet.addDevices([spec('t-added', {})]);
      await eventually(async () => (steady(await fleet.observe()) ? true : undefined), 'all but t-flap online again');
      await eventually(
        async () => ((await fleet.observe()).some((d) => d.thingName === 't-flap' && !d.online) ? true : undefined),
        't-flap down once more',
      );
    } finally {
      await sampler.stop();
      await fleet.close();
    }
    expect(sampler.mismatches).toEqual([]);
    // The run went through what changes the counts: devices joined, went down after connecting, and reported.
    const s = sampler.samples;
    expect(s.length).toBeGreaterThan(50);
    expect(s.some((t) => t.devices === 8) && s.some((t) => t.devices === 9)).toBe(true);
    expect(s.some((t) => t.online === 0)).toBe(true);
    expect(s.some((t) => t.connectedOnce > t.online)).toBe(true);
    expect(s.some((t) => t.ready >= 7)).toBe(true);
    expect(new Set(s.map((t) => JSON.stringify(t))).size).toBeGreaterThan(5);
    // Closed devices are offline; what they did once stays counted.
    expect(await fleet.tally()).toEqual({ devices: 9, online: 0, connectedOnce: 9, ready: 0 });
  }, 120_000);
});

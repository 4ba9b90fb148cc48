/**
 * Devices in worker threads (their MQTT streams carried over one port per worker to the main thread's broker),
 * journals in one shared SQLite file: a job across the fleet, with agents that crash at a step and devices that
 * lose power mid-update, all ending on the new release from their journals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { silentLogger } from '@otafleet/iot-core/testing';
import { startVirtualFleet, type DeviceFaults, type VirtualDeviceSpec } from '../src/index.js';
import {
  eventually,
  HARDWARE,
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

const faultsOf = (i: number): DeviceFaults => {
  if (i % 10 === 1) return { crashAtStep: 'state:Downloading' };
  if (i % 10 === 2) return { crashAtStep: 'install:record' };
  if (i % 10 === 3) return { powerCutAtStep: { step: 'state:HealthChecking', offMs: 300 } };
  if (i % 10 === 4) return { powerCutAtStep: { step: 'activate:reboot', offMs: 300 } };
  return {};
};

describe('a virtual fleet in worker threads', () => {
  it('updates every device through crashes and power cuts, resuming from the shared journal', async () => {
    const devices: VirtualDeviceSpec[] = Array.from({ length: 20 }, (_v, i) => ({
      thingName: `sim-w-${String(i).padStart(2, '0')}`,
      hardwareType: HARDWARE,
      startVersion: '1.0.0',
      faults: faultsOf(i),
    }));
    const things = devices.map((d) => d.thingName);
    await stack.addThings(things);
    const dataDir = join(stack.dir, 'fleet-workers');
    const fleet = await startVirtualFleet({
      devices,
      seed: 7,
      workers: 2,
      broker: stack.broker,
      trustSetJson: stack.trustSetJson,
      dataDir,
      logger: silentLogger,
    });
    try {
      await eventually(async () => ((await fleet.observe()).every((o) => o.online) ? true : undefined), 'online');
      const v110 = await stack.bundle('1.1.0');
      await stack.createJob('w-110', things, installDocument(v110));
      for (const t of things) {
        const e = await stack.waitForExecution('w-110', t, isTerminal, 60_000);
        expect({ t, status: e.status }).toEqual({ t, status: 'SUCCEEDED' });
      }
      const obs = await eventually(async () => {
        const o = await fleet.observe();
        return o.every((d) => d.phase === 'idle' && d.runningVersion === '1.1.0') ? o : undefined;
      }, 'all settled on 1.1.0');
      expect(obs.map((o) => o.thingName)).toEqual(things);
      // The tally counts, across both workers, what the observations say (again until both read the same moment).
      const tallied = await eventually(async () => {
        const [t, o] = [await fleet.tally(), await fleet.observe()];
        const want = {
          devices: o.length,
          online: o.filter((d) => d.online).length,
          connectedOnce: o.filter((d) => d.online || d.messagesIn > 0).length,
          ready: o.filter((d) => d.online && d.healthReports > 0).length,
        };
        return JSON.stringify(t) === JSON.stringify(want) ? t : undefined;
      }, 'tally agrees with observations');
      expect(tallied).toEqual({ devices: 20, online: 20, connectedOnce: 20, ready: 20 });
      obs.forEach((o, i) => {
        const f = faultsOf(i);
        // One reboot into the new slot, unless the power cut came at that very step (power-on boots the slot).
        const cutAtReboot = f.powerCutAtStep?.step === 'activate:reboot';
        expect({ t: o.thingName, reboots: o.reboots }).toEqual({ t: o.thingName, reboots: cutAtReboot ? 0 : 1 });
        const extra = !cutAtReboot && (f.crashAtStep !== undefined || f.powerCutAtStep !== undefined) ? 1 : 0;
        expect({ t: o.thingName, restarts: o.agentRestarts }).toEqual({ t: o.thingName, restarts: 1 + extra });
        expect(o.powerCuts).toBe(f.powerCutAtStep === undefined ? 0 : 1);
        expect(o.rollbacks).toEqual([]);
      });
      // The shared cache: one download per worker (plus nothing per device).
      expect(stack.requests.get('app-1.1.0.otab')).toBeLessThanOrEqual(2);
    } finally {
      await fleet.close();
    }
    // Every device's slots are rows of the one shared file, committed on 1.1.0's slot.
    const db = new Database(join(dataDir, 'journal.db'), { readonly: true });
    const rows = db.prepare('SELECT thing, record FROM virtual_slots ORDER BY thing').all() as {
      thing: string;
      record: string;
    }[];
    db.close();
    expect(rows.map((r) => r.thing)).toEqual(things);
    for (const r of rows) expect(JSON.parse(r.record)).toMatchObject({ committed: 'B', trial: null });
  }, 120_000);
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isSlotError,
  memorySlotStore,
  provisionVirtualSlots,
  VirtualSlotBackend,
  type VirtualSlotStore,
} from '../src/slots/index.js';
import { release } from './slots-harness.js';

const SOURCE = { kind: 'image', path: '/virtual/rootfs.img', size: 0 } as const;

afterEach(() => {
  vi.useRealTimers();
});

describe('virtual slots (the simulator)', () => {
  it('10,000 devices each run a full update in one process, with no timers', async () => {
    vi.useFakeTimers();
    const store = memorySlotStore();
    const v2 = release('2.0.0');
    const devices = Array.from({ length: 10_000 }, (_, i) => `sim-${i}`);
    let reboots = 0;
    for (const key of devices) {
      provisionVirtualSlots(store, key, release('1.0.0'));
      const agent = new VirtualSlotBackend({ store, key, onActivate: () => void reboots++ });
      await agent.install('B', SOURCE, v2);
      await agent.armTrial('B', 3);
      await agent.activate();
      const rebooted = new VirtualSlotBackend({ store, key, onActivate: () => void reboots++ });
      expect((await rebooted.recordBootAttempt()).booted).toBe('B');
      await rebooted.commit();
    }
    expect(vi.getTimerCount()).toBe(0);
    expect(reboots).toBe(devices.length);
    const sample = new VirtualSlotBackend({ store, key: 'sim-9999', onActivate: () => undefined });
    expect(await sample.state()).toMatchObject({ booted: 'B', committed: 'B', versions: { B: v2 } });
  });

  it('keeps its record in the simulator database (SQLite), which outlives the backend and the connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slots-virtual-'));
    const path = join(dir, 'sim.db');
    const open = () => {
      const db = new Database(path);
      db.exec('CREATE TABLE IF NOT EXISTS slot_records (device TEXT PRIMARY KEY, record TEXT NOT NULL)');
      const get = db.prepare<[string], { record: string }>('SELECT record FROM slot_records WHERE device = ?');
      const set = db.prepare(
        'INSERT INTO slot_records (device, record) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET record = excluded.record',
      );
      const store: VirtualSlotStore = {
        get: (key) => get.get(key)?.record,
        set: (key, value) => void set.run(key, value),
      };
      return { db, store };
    };
    try {
      const first = open();
      provisionVirtualSlots(first.store, 'pi-0001', release('1.0.0'));
      const agent = new VirtualSlotBackend({ store: first.store, key: 'pi-0001', onActivate: () => undefined });
      await agent.install('B', SOURCE, release('2.0.0'));
      await agent.armTrial('B', 1);
      first.db.close();
      const second = open();
      const after = new VirtualSlotBackend({ store: second.store, key: 'pi-0001', onActivate: () => undefined });
      expect((await after.recordBootAttempt()).trial).toEqual({ slot: 'B', attempts: 1, maxAttempts: 1 });
      expect(await after.recordBootAttempt()).toMatchObject({
        booted: 'A',
        failedTrial: { reason: 'attempts-exhausted' },
      });
      second.db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a crash injected at a step leaves the step undone: an install cut before its record reads as empty', async () => {
    const store = memorySlotStore();
    provisionVirtualSlots(store, 'd', release('1.0.0'));
    const crashing = new VirtualSlotBackend({
      store,
      key: 'd',
      onActivate: () => undefined,
      onStep: (step) => {
        if (step === 'install:record') throw new Error('injected crash');
      },
    });
    await crashing.install('B', SOURCE, release('1.5.0')).catch(() => undefined);
    const agent = new VirtualSlotBackend({ store, key: 'd', onActivate: () => undefined });
    expect((await agent.state()).versions.B).toBeUndefined();
    const e = await agent.armTrial('B', 2).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSlotError(e, 'SLOT_EMPTY')).toBe(true);
  });
});

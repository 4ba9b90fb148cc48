import { memorySlotStore, provisionVirtualSlots, VirtualSlotBackend } from '../src/slots/index.js';
import { release, silentLogger, type SlotHarness } from './slots-harness.js';

/** A virtual device: its record in a memory store that outlives each backend object, like a disk. */
export function virtualHarness(): Promise<SlotHarness> {
  const store = memorySlotStore();
  const key = 'sim-device-0001';
  const factory = release('1.0.0');
  provisionVirtualSlots(store, key, factory);
  let reboots = 0;
  const create = () =>
    new VirtualSlotBackend({
      store,
      key,
      logger: silentLogger,
      onActivate: () => {
        reboots++;
      },
    });
  const harness: SlotHarness = {
    kind: 'virtual',
    backend: create(),
    factory,
    makeSource: () => Promise.resolve({ kind: 'image', path: '/nonexistent/virtual.img', size: 0 }),
    // A virtual slot holds only its record entry.
    fingerprint: async (slot) => JSON.stringify((await harness.backend.state()).versions[slot] ?? null),
    async restart() {
      harness.backend = create();
      return await harness.backend.recordBootAttempt();
    },
    activations: () => reboots,
    corruptions: {
      'record is not JSON': () => Promise.resolve(store.set(key, '{"schemaVersion":')),
      'record is missing': () => Promise.resolve(void store.entries.delete(key)),
      'record has a trial with attempts over its limit': () =>
        Promise.resolve(
          store.set(
            key,
            JSON.stringify({
              schemaVersion: 1,
              committed: 'A',
              trial: { slot: 'B', attempts: 5, maxAttempts: 3 },
              versions: {},
            }),
          ),
        ),
    },
    close: () => Promise.resolve(),
  };
  return Promise.resolve(harness);
}

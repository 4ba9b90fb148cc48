import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DirectorySlotBackend,
  directorySlotLayout,
  provisionDirectorySlots,
  type SlotStepHook,
} from '../src/slots/index.js';
import { release, silentLogger, tempDir, treeFingerprint, writeAppTree, type SlotHarness } from './slots-harness.js';

/** Directory slots on real files; the application "restart" is counted (the agent process stays). */
export async function directoryHarness(
  options: { onStep?: SlotStepHook } = {},
): Promise<SlotHarness & { root: string }> {
  const tmp = await tempDir('slots-dir-');
  const root = join(tmp.path, 'device');
  const factory = release('1.0.0');
  const factoryTree = join(tmp.path, 'factory');
  await writeAppTree(factoryTree, factory);
  await provisionDirectorySlots({
    root,
    logger: silentLogger,
    factory: { source: { kind: 'directory', path: factoryTree }, contents: factory },
  });
  let restarts = 0;
  let sources = 0;
  const layout = directorySlotLayout(root);
  const create = () =>
    new DirectorySlotBackend({
      root,
      logger: silentLogger,
      restart: () => {
        restarts++;
      },
      ...(options.onStep ? { onStep: options.onStep } : {}),
    });
  const harness: SlotHarness & { root: string } = {
    kind: 'directory',
    root,
    backend: create(),
    factory,
    async makeSource(contents) {
      const path = join(tmp.path, `source-${++sources}`);
      await writeAppTree(path, contents);
      return { kind: 'directory', path };
    },
    fingerprint: (slot) => treeFingerprint(layout.slotDir(slot)),
    async restart() {
      harness.backend = create();
      return await harness.backend.recordBootAttempt();
    },
    activations: () => restarts,
    corruptions: {
      'record is not JSON': () => writeFile(layout.record, '{"schemaVersion": 1, "committed": '),
      'record is missing': () => rm(layout.record),
      'record names slot C': async () =>
        writeFile(layout.record, JSON.stringify({ schemaVersion: 1, committed: 'C', versions: {} })),
    },
    close: tmp.remove,
  };
  return harness;
}

import { mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directorySlotLayout, isSlotError, provisionDirectorySlots } from '../src/slots/index.js';
import { directoryHarness } from './slots-directory-harness.js';
import { release, silentLogger, treeFingerprint, writeAppTree } from './slots-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const h = await directoryHarness();
  cleanups.push(() => h.close());
  return { h, layout: directorySlotLayout(h.root) };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (x: unknown) => x,
  );

describe('directory slots on real files', () => {
  it('the application runs from a relative `current` symlink, switched by activate()', async () => {
    const { h, layout } = await harness();
    expect(await readlink(layout.current)).toBe('slots/A');
    expect(await readFile(join(layout.current, 'RELEASE'), 'utf8')).toBe('demo-app@1.0.0\n');
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    expect(await readlink(layout.current)).toBe('slots/A'); // arming switches nothing
    await h.backend.activate();
    expect(await readlink(layout.current)).toBe('slots/B');
    expect(await readFile(join(layout.current, 'RELEASE'), 'utf8')).toBe('demo-app@2.0.0\n');
    expect(await readlink(join(layout.current, 'main.js'))).toBe('app.js');
    expect(h.activations()).toBe(1);
  });

  it('an install leaves only the two slots behind, and the source tree moved in', async () => {
    const { h, layout } = await harness();
    const v2 = release('2.0.0');
    const source = await h.makeSource(v2);
    if (source.kind !== 'directory') throw new Error('directory source expected');
    const fingerprint = await treeFingerprint(source.path);
    await h.backend.install('B', source, v2);
    expect((await readdir(layout.slotsDir)).sort()).toEqual(['A', 'B']);
    expect(await treeFingerprint(layout.slotDir('B'))).toBe(fingerprint);
    await expect(readdir(source.path)).rejects.toThrow(/ENOENT/);
  });

  it('installs a tree from another file system (copied, symlinks kept, source removed)', async () => {
    const { h, layout } = await harness();
    const shm = await mkdtemp('/dev/shm/slots-src-');
    cleanups.push(() => rm(shm, { recursive: true, force: true }));
    const v2 = release('2.0.0');
    const tree = join(shm, 'tree');
    await writeAppTree(tree, v2);
    const fingerprint = await treeFingerprint(tree);
    await h.backend.install('B', { kind: 'directory', path: tree }, v2);
    expect(await treeFingerprint(layout.slotDir('B'))).toBe(fingerprint);
    expect(await readdir(shm)).toEqual([]);
  });

  it('refuses a source that is not a directory', async () => {
    const { h, layout } = await harness();
    const file = join(h.root, 'not-a-dir');
    await writeFile(file, 'x');
    const e = await failure(h.backend.install('B', { kind: 'directory', path: file }, release('2.0.0')));
    expect(isSlotError(e, 'SLOT_INVALID_ARGUMENT')).toBe(true);
    expect((await readdir(layout.slotsDir)).sort()).toEqual(['A']);
  });

  it('refuses to move a slot (or the slot root) into the other slot', async () => {
    const { h, layout } = await harness();
    const before = await treeFingerprint(layout.slotDir('A'));
    for (const path of [layout.slotDir('A'), join(layout.slotDir('A'), 'lib'), h.root]) {
      const e = await failure(h.backend.install('B', { kind: 'directory', path }, release('2.0.0')));
      expect(isSlotError(e, 'SLOT_INVALID_ARGUMENT')).toBe(true);
    }
    expect(await treeFingerprint(layout.slotDir('A'))).toBe(before);
  });

  it('a `current` link pointing elsewhere is corrupt to state(), and the boot step points it back', async () => {
    const { h, layout } = await harness();
    await rm(layout.current);
    await symlink('/etc', layout.current);
    expect(isSlotError(await failure(h.backend.state()), 'SLOT_STATE_CORRUPT')).toBe(true);
    expect(await h.restart()).toMatchObject({ booted: 'A', committed: 'A' });
    expect(await readlink(layout.current)).toBe('slots/A');
  });

  it('a recorded slot whose tree is gone is corrupt (never booted into)', async () => {
    const { h, layout } = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    await rm(layout.slotDir('B'), { recursive: true });
    expect(isSlotError(await failure(h.backend.activate()), 'SLOT_STATE_CORRUPT')).toBe(true);
    expect(await readlink(layout.current)).toBe('slots/A');
    expect(h.activations()).toBe(0);
  });

  it('provisioning refuses to run over an existing record', async () => {
    const { h } = await harness();
    const e = await failure(provisionDirectorySlots({ root: h.root, logger: silentLogger }));
    expect(isSlotError(e, 'SLOT_ALREADY_PROVISIONED')).toBe(true);
    expect((await h.backend.state()).versions.A).toEqual(h.factory);
  });
});

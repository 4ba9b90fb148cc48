import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildBundle,
  createTrustStore,
  generateBundleKeyPair,
  importPrivateKey,
  packDirectory,
  unpackBundleFile,
  verifyBundleFile,
  type BundleDraft,
  type BundleSigner,
} from '@otafleet/bundle';
import { afterEach, describe, expect, it } from 'vitest';
import { imageSourceOf, isSlotError, isTrialRunning, slotContentsOf } from '../src/slots/index.js';
import { directoryHarness } from './slots-directory-harness.js';
import { imageBytes, release, tempDir } from './slots-harness.js';
import { ubootHarness } from './slots-uboot-harness.js';

/** Real signed bundles, verified and extracted by @otafleet/bundle, installed through the slot interface. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function signer(): { signer: BundleSigner; trust: ReturnType<typeof createTrustStore> } {
  const pair = generateBundleKeyPair('ed25519');
  const key: BundleSigner = {
    keyId: 'fleet-2026',
    algorithm: 'ed25519',
    privateKey: importPrivateKey(pair.privateKeyPem, 'ed25519'),
  };
  const trust = createTrustStore({
    keys: [{ id: key.keyId, algorithm: key.algorithm, publicKey: pair.publicKeyPem, status: 'active' }],
  });
  return { signer: key, trust };
}

const draft = (key: BundleSigner, over: Partial<BundleDraft>): BundleDraft => ({
  name: 'demo-app',
  version: '2.0.0',
  securityVersion: 2,
  compatibleHardware: ['rpi4'],
  installType: 'app-dir',
  createdAt: '2026-01-01T00:00:00Z',
  expiresAt: '2099-01-01T00:00:00Z',
  minAgentVersion: '1.0.0',
  keyId: key.keyId,
  signatureAlgorithm: key.algorithm,
  payloads: [],
  ...over,
});

describe('slots fed by verified bundles', () => {
  it('an app-dir bundle, unpacked beside the slots, is moved into the inactive directory slot', async () => {
    const h = await directoryHarness();
    cleanups.push(() => h.close());
    const tmp = await tempDir('slots-bundle-');
    cleanups.push(tmp.remove);
    const app = join(tmp.path, 'app');
    await mkdir(app);
    await writeFile(join(app, 'server.js'), 'console.log("v2");\n');
    const tar = join(tmp.path, 'app.tar');
    const { entries } = await packDirectory(app, tar, { mtime: new Date('2026-01-01T00:00:00Z') });
    const { signer: key, trust } = signer();
    const bundlePath = join(tmp.path, 'demo-2.0.0.otab');
    await buildBundle(
      draft(key, { payloads: [{ name: 'app.tar', kind: 'tar', path: tar, entries }] }),
      key,
      bundlePath,
    );

    const incoming = join(h.root, 'incoming', 'job-1'); // same file system as the slots: the install is a rename
    const { bundle } = await unpackBundleFile(bundlePath, incoming, { trust });
    await h.backend.install('B', { kind: 'directory', path: incoming }, slotContentsOf(bundle));
    await h.backend.armTrial('B', 3);
    await h.backend.activate();
    const state = await h.backend.state();
    expect(isTrialRunning(state)).toBe(true);
    expect(state.versions.B).toEqual({
      name: 'demo-app',
      version: '2.0.0',
      securityVersion: 2,
      manifestSha256: bundle.manifestSha256,
    });
    expect(await readFile(join(h.root, 'current', 'server.js'), 'utf8')).toBe('console.log("v2");\n');
  });

  it('a rootfs-image bundle, verified to disk, is written to the inactive U-Boot partition', async () => {
    const h = await ubootHarness();
    cleanups.push(() => h.close());
    const tmp = await tempDir('slots-bundle-img-');
    cleanups.push(tmp.remove);
    const image = join(tmp.path, 'rootfs.img');
    const bytes = imageBytes(release('2.0.0'));
    await writeFile(image, bytes);
    const { signer: key, trust } = signer();
    const bundlePath = join(tmp.path, 'rootfs-2.0.0.otab');
    await buildBundle(
      draft(key, { installType: 'rootfs-image', payloads: [{ name: 'rootfs.img', kind: 'image', path: image }] }),
      key,
      bundlePath,
    );
    const verified = await verifyBundleFile(bundlePath, { trust, workDir: tmp.path });
    cleanups.push(() => rm(verified.payloadDir ?? '', { recursive: true, force: true }));
    await h.backend.install('B', imageSourceOf(verified), slotContentsOf(verified));
    expect((await readFile(h.device.devices.B)).subarray(0, bytes.byteLength).equals(bytes)).toBe(true);
    expect((await h.backend.state()).versions.B?.manifestSha256).toBe(verified.manifestSha256);

    const onlyChecked = await verifyBundleFile(bundlePath, { trust }); // no workDir: nothing on disk to write
    expect(
      isSlotError(
        getError(() => imageSourceOf(onlyChecked)),
        'SLOT_INVALID_ARGUMENT',
      ),
    ).toBe(true);
  });
});

function getError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

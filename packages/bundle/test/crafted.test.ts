import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeBundleManifest,
  encodeBundlePayloadHeader,
  encodeBundlePreamble,
  encodeBundleSignatureBlock,
  type BundleManifest,
} from '@otafleet/protocol';
import { signBytes, verifyBundleFile } from '@otafleet/bundle';
import { makeKey, tempDir, trustEntry, trustOf, type TestKey } from './helpers.js';

// Bundles assembled by hand, signed by a TRUSTED key, to show the verifier does not rely on the
// signer's tooling being honest about the format.

const payload = Buffer.from('#!/bin/sh\necho crafted\n');
const baseManifest = (key: TestKey): BundleManifest => ({
  formatVersion: 1,
  name: 'crafted',
  version: '1.0.0',
  securityVersion: 1,
  compatibleHardware: ['rpi4'],
  installType: 'script',
  payloads: [
    {
      name: 'run.sh',
      kind: 'script',
      size: payload.byteLength,
      sha256: createHash('sha256').update(payload).digest('hex'),
    },
  ],
  createdAt: '2026-01-01T00:00:00Z',
  expiresAt: '2099-01-01T00:00:00Z',
  minAgentVersion: '0.1.0',
  keyId: key.keyId,
  signatureAlgorithm: key.algorithm,
});

async function writeRaw(
  path: string,
  manifestBytes: Uint8Array,
  signer: TestKey,
  blockKeyId = signer.keyId,
): Promise<string> {
  const signature = signBytes(signer.algorithm, signer.privateKey, manifestBytes);
  await writeFile(
    path,
    Buffer.concat([
      encodeBundlePreamble(manifestBytes.byteLength),
      manifestBytes,
      encodeBundleSignatureBlock({ algorithm: signer.algorithm, keyId: blockKeyId, signature }),
      encodeBundlePayloadHeader(payload.byteLength),
      payload,
    ]),
  );
  return path;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => dir.cleanup());

describe('hand-crafted bundles signed by a trusted key', () => {
  const key = makeKey('trusted', 'ed25519');
  const trust = trustOf(trustEntry(key));

  it('a correctly assembled one verifies (the crafting itself is right)', async () => {
    const file = await writeRaw(join(dir.path, 'ok.otab'), encodeBundleManifest(baseManifest(key)), key);
    expect((await verifyBundleFile(file, { trust })).manifest.name).toBe('crafted');
  });

  it('a signed but non-canonical manifest is refused', async () => {
    const pretty = new TextEncoder().encode(JSON.stringify(baseManifest(key), null, 2));
    const file = await writeRaw(join(dir.path, 'pretty.otab'), pretty, key);
    await expect(verifyBundleFile(file, { trust })).rejects.toMatchObject({ code: 'BUNDLE_MANIFEST_NOT_CANONICAL' });
  });

  it('a signed manifest that fails the schema is refused', async () => {
    const bad = new TextEncoder().encode(JSON.stringify({ ...baseManifest(key), securityVersion: -1 }));
    const file = await writeRaw(join(dir.path, 'bad.otab'), bad, key);
    await expect(verifyBundleFile(file, { trust })).rejects.toMatchObject({ code: 'BUNDLE_MANIFEST_INVALID' });
  });

  it('a signature block naming a different key than the signed manifest is refused', async () => {
    const other = makeKey('other', 'ed25519');
    const manifestBytes = encodeBundleManifest(baseManifest(other));
    const file = await writeRaw(join(dir.path, 'relabel.otab'), manifestBytes, key, 'trusted');
    await expect(verifyBundleFile(file, { trust })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_BLOCK_INVALID' });
  });
});

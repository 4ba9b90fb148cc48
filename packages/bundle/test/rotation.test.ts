import { createPrivateKey, sign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBundleManifest } from '@otafleet/protocol';
import {
  BundleError,
  decodeUntrustedManifest,
  readBundleHead,
  ChunkReader,
  openBundleFile,
  signBundleFile,
  verifyBundleFile,
} from '@otafleet/bundle';
import { buildAppBundle, makeKey, tempDir, trustEntry, trustOf } from './helpers.js';

const NOW = new Date('2026-06-01T00:00:00Z');

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => dir.cleanup());

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: unknown) => (e instanceof BundleError ? e.code : `not a BundleError: ${String(e)}`),
  );
}

describe('key rotation', () => {
  const oldKey = makeKey('fleet-2025', 'ecdsa-p256-sha256');
  const newKey = makeKey('fleet-2026', 'ed25519');

  it('a bundle signed with the rotated-in key verifies on a device trusting both keys', async () => {
    const file = await buildAppBundle(dir.path, newKey, join(dir.path, 'new.otab'));
    const both = trustOf(trustEntry(oldKey, { status: 'retired' }), trustEntry(newKey));
    const v = await verifyBundleFile(file, { trust: both, now: NOW });
    expect(v.keyId).toBe('fleet-2026');
  });

  it('and fails on a device trusting neither', async () => {
    const file = await buildAppBundle(dir.path, newKey, join(dir.path, 'new.otab'));
    const neither = trustOf(trustEntry(makeKey('someone-else', 'ed25519')));
    expect(await codeOf(verifyBundleFile(file, { trust: neither, now: NOW }))).toBe('BUNDLE_KEY_UNKNOWN');
  });

  it('a device that only has the old key refuses the new bundle until its trust set is updated', async () => {
    const file = await buildAppBundle(dir.path, newKey, join(dir.path, 'new.otab'));
    expect(await codeOf(verifyBundleFile(file, { trust: trustOf(trustEntry(oldKey)), now: NOW }))).toBe(
      'BUNDLE_KEY_UNKNOWN',
    );
  });

  it('a retired key still verifies bundles it signed, until its notAfter', async () => {
    const file = await buildAppBundle(dir.path, oldKey, join(dir.path, 'old.otab'));
    const retired = trustOf(
      trustEntry(oldKey, { status: 'retired', notAfter: '2026-09-01T00:00:00Z' }),
      trustEntry(newKey),
    );
    expect(await codeOf(verifyBundleFile(file, { trust: retired, now: NOW }))).toBe('OK');
    expect(await codeOf(verifyBundleFile(file, { trust: retired, now: new Date('2026-10-01T00:00:00Z') }))).toBe(
      'BUNDLE_KEY_EXPIRED',
    );
  });

  it('a revoked key verifies nothing, even alongside a trusted one', async () => {
    const file = await buildAppBundle(dir.path, oldKey, join(dir.path, 'old.otab'));
    const revoked = trustOf(trustEntry(oldKey, { status: 'revoked' }), trustEntry(newKey));
    expect(await codeOf(verifyBundleFile(file, { trust: revoked, now: NOW }))).toBe('BUNDLE_KEY_REVOKED');
  });
});

describe('external signing (AWS Signer style)', () => {
  it('an unsigned bundle gets a DER ECDSA signature made outside the tool and then verifies', async () => {
    const key = makeKey('aws-signer-profile', 'ecdsa-p256-sha256');
    const unsigned = await buildAppBundle(dir.path, null, join(dir.path, 'u.otab'), {
      keyId: key.keyId,
      signatureAlgorithm: key.algorithm,
    });
    const reader = new ChunkReader(openBundleFile(unsigned));
    const head = await readBundleHead(reader);
    await reader.close();
    const manifest = decodeUntrustedManifest(head);
    expect(Buffer.from(head.manifestBytes).equals(Buffer.from(encodeBundleManifest(manifest)))).toBe(true);
    // What a remote signer does: SHA-256 + ECDSA over the exported manifest bytes, DER output.
    const der = sign('sha256', head.manifestBytes, { key: createPrivateKey(key.privateKeyPem), dsaEncoding: 'der' });
    await writeFile(join(dir.path, 'sig.der'), der);
    const signed = join(dir.path, 's.otab');
    await signBundleFile(unsigned, signed, {
      keyId: key.keyId,
      algorithm: key.algorithm,
      signature: await readFile(join(dir.path, 'sig.der')),
    });
    const v = await verifyBundleFile(signed, { trust: trustOf(trustEntry(key)), now: NOW });
    expect(v.manifest.keyId).toBe('aws-signer-profile');
  });

  it('an IEEE P1363 (raw r||s) ECDSA signature is refused: only DER is accepted', async () => {
    const key = makeKey('k', 'ecdsa-p256-sha256');
    const unsigned = await buildAppBundle(dir.path, null, join(dir.path, 'u.otab'), {
      keyId: key.keyId,
      signatureAlgorithm: key.algorithm,
    });
    const reader = new ChunkReader(openBundleFile(unsigned));
    const head = await readBundleHead(reader);
    await reader.close();
    const raw = sign('sha256', head.manifestBytes, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    const signed = join(dir.path, 's.otab');
    await signBundleFile(unsigned, signed, { keyId: key.keyId, algorithm: key.algorithm, signature: raw });
    expect(await codeOf(verifyBundleFile(signed, { trust: trustOf(trustEntry(key)), now: NOW }))).toBe(
      'BUNDLE_SIGNATURE_INVALID',
    );
  });

  it('signing refuses a key other than the one the manifest names', async () => {
    const named = makeKey('named', 'ed25519');
    const unsigned = await buildAppBundle(dir.path, null, join(dir.path, 'u.otab'), {
      keyId: named.keyId,
      signatureAlgorithm: named.algorithm,
    });
    const other = makeKey('other', 'ed25519');
    expect(await codeOf(signBundleFile(unsigned, join(dir.path, 's.otab'), other))).toBe(
      'BUNDLE_KEY_ALGORITHM_MISMATCH',
    );
    expect(await codeOf(signBundleFile(unsigned, join(dir.path, 's.otab'), { ...other, keyId: 'named' }))).toBe('OK');
    // Right id, wrong key material: the signature is made but no device trusting "named" accepts it.
    const v = verifyBundleFile(join(dir.path, 's.otab'), { trust: trustOf(trustEntry(named)), now: NOW });
    expect(await codeOf(v)).toBe('BUNDLE_SIGNATURE_INVALID');
  });
});

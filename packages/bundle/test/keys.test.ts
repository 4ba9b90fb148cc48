import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BundleError,
  createTrustStore,
  importPrivateKey,
  importPublicKey,
  loadTrustStore,
  parseTrustStore,
  verifyBundleFile,
} from '@otafleet/bundle';
import { buildAppBundle, makeKey, tempDir, trustEntry, trustOf } from './helpers.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return e instanceof BundleError ? e.code : `not a BundleError: ${String(e)}`;
  }
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => dir.cleanup());

describe('keys and trust sets', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

  it('refuses keys that are not P-256 or Ed25519, or not the algorithm asked for', () => {
    expect(codeOf(() => importPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })))).toBe(
      'BUNDLE_KEY_INVALID',
    );
    expect(codeOf(() => importPublicKey('not a pem'))).toBe('BUNDLE_KEY_INVALID');
    const ed = makeKey('e', 'ed25519');
    expect(codeOf(() => importPublicKey(ed.publicKeyPem, 'ecdsa-p256-sha256'))).toBe('BUNDLE_KEY_ALGORITHM_MISMATCH');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(codeOf(() => importPublicKey(p384.publicKey.export({ type: 'spki', format: 'pem' })))).toBe(
      'BUNDLE_KEY_INVALID',
    );
  });

  it('refuses a trust set whose PEM does not match its pinned algorithm, or is garbage', () => {
    const ed = makeKey('e', 'ed25519');
    expect(codeOf(() => createTrustStore({ keys: [{ ...trustEntry(ed), algorithm: 'ecdsa-p256-sha256' }] }))).toBe(
      'BUNDLE_TRUST_SET_INVALID',
    );
    expect(codeOf(() => createTrustStore({ keys: [{ ...trustEntry(ed), publicKey: 'garbage' }] }))).toBe(
      'BUNDLE_TRUST_SET_INVALID',
    );
    expect(codeOf(() => parseTrustStore('{"keys":[{"id":"x"}]}'))).toBe('BUNDLE_TRUST_SET_INVALID');
  });

  it('loads a trust set file; a missing one is a typed error', async () => {
    const key = makeKey('file-key', 'ed25519');
    const path = join(dir.path, 'trust.json');
    await writeFile(path, JSON.stringify({ keys: [trustEntry(key)] }));
    expect((await loadTrustStore(path)).publicKeys.has('file-key')).toBe(true);
    await expect(loadTrustStore(join(dir.path, 'missing.json'))).rejects.toMatchObject({
      code: 'BUNDLE_TRUST_SET_INVALID',
    });
  });
});

describe('verify options', () => {
  it('observe sees every byte of the bundle, in order', async () => {
    const key = makeKey('k', 'ed25519');
    const file = await buildAppBundle(dir.path, key, join(dir.path, 'b.otab'));
    const seen: Buffer[] = [];
    await verifyBundleFile(file, { trust: trustOf(trustEntry(key)), observe: (c) => void seen.push(Buffer.from(c)) });
    expect(Buffer.concat(seen).equals(await readFile(file))).toBe(true);
  });

  it('maxPayloadBytes refuses a bundle too large for the device before streaming it', async () => {
    const key = makeKey('k', 'ed25519');
    const file = await buildAppBundle(dir.path, key, join(dir.path, 'b.otab'));
    const work = join(dir.path, 'work');
    await expect(
      verifyBundleFile(file, { trust: trustOf(trustEntry(key)), policy: { maxPayloadBytes: 1000 }, workDir: work }),
    ).rejects.toMatchObject({ code: 'BUNDLE_PAYLOAD_TOO_LARGE' });
  });
});

/** Real signed bundles for the fleet service's tests, built with the bundle library. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  buildBundle,
  createTrustStore,
  deriveTestPrivateKey,
  publicKeyPemOf,
  type BundleSigner,
  type TrustStore,
} from '@otafleet/bundle';

export const testSigner = (keyId: string): BundleSigner => ({
  keyId,
  algorithm: 'ed25519',
  privateKey: deriveTestPrivateKey('ed25519', keyId),
});

export const trustOf = (...signers: BundleSigner[]): TrustStore =>
  createTrustStore({
    keys: signers.map((s) => ({
      id: s.keyId,
      algorithm: s.algorithm,
      publicKey: publicKeyPemOf(s.privateKey),
      status: 'active' as const,
    })),
  });

const work = mkdtempSync(join(tmpdir(), 'fleet-bundles-'));

/** A signed rootfs-image bundle of `name` at `version` with a random payload (50 kB by default), for rpi4. */
export async function bundleBytes(
  by: BundleSigner,
  version = '1.1.0',
  expiresAt = '2099-01-01T00:00:00Z',
  payloadBytes = 50_000,
): Promise<Buffer> {
  const tag = `${version}-${by.keyId}-${expiresAt.slice(0, 4)}`;
  const payload = join(work, `payload-${tag}.bin`);
  await writeFile(payload, randomBytes(payloadBytes));
  const out = join(work, `bundle-${tag}.otab`);
  await buildBundle(
    {
      name: 'app',
      version,
      securityVersion: 1,
      compatibleHardware: ['rpi4'],
      installType: 'rootfs-image',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt,
      minAgentVersion: '0.1.0',
      keyId: by.keyId,
      signatureAlgorithm: by.algorithm,
      payloads: [{ name: 'rootfs.img', kind: 'image', path: payload }],
    },
    by,
    out,
  );
  return readFile(out);
}

/** An upload arriving in chunks, as a request body does. */
export const chunks = (bytes: Buffer, size = 8_192): Readable =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)),
  );

/** Real signed bundles for the download + verify tests, built with the bundle library. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildBundle,
  createTrustStore,
  deriveTestPrivateKey,
  publicKeyPemOf,
  type BundleSigner,
  type TrustStore,
} from '@otafleet/bundle';
import { randomFile } from './download-fixtures.js';

export function testSigner(keyId: string): BundleSigner {
  return { keyId, algorithm: 'ed25519', privateKey: deriveTestPrivateKey('ed25519', keyId) };
}

export function trustFor(...signers: BundleSigner[]): TrustStore {
  return createTrustStore({
    keys: signers.map((s) => ({
      id: s.keyId,
      algorithm: s.algorithm,
      publicKey: publicKeyPemOf(s.privateKey),
      status: 'active' as const,
    })),
  });
}

export interface TestBundle {
  readonly bytes: Buffer;
  readonly payload: Buffer;
  /** Offset of the first payload byte in `bytes`. */
  readonly payloadOffset: number;
}

/** A signed rootfs-image bundle with one random payload of `payloadSize` bytes, for hardware `rpi4`. */
export async function buildImageBundle(dir: string, payloadSize: number, signer: BundleSigner): Promise<TestBundle> {
  const payload = randomFile(payloadSize);
  const payloadPath = join(dir, `payload-${signer.keyId}.img`);
  const out = join(dir, `bundle-${signer.keyId}.otab`);
  await writeFile(payloadPath, payload);
  await buildBundle(
    {
      name: 'rootfs',
      version: '2.0.0',
      securityVersion: 1,
      compatibleHardware: ['rpi4'],
      installType: 'rootfs-image',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2099-01-01T00:00:00Z',
      minAgentVersion: '0.1.0',
      keyId: signer.keyId,
      signatureAlgorithm: signer.algorithm,
      payloads: [{ name: 'rootfs.img', kind: 'image', path: payloadPath }],
    },
    signer,
    out,
  );
  const bytes = await readFile(out);
  return { bytes, payload, payloadOffset: bytes.byteLength - payloadSize };
}

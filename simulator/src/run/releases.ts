import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBundle, deriveTestPrivateKey, publicKeyPemOf, type BundleSigner } from '@otafleet/bundle';
import type { BundleTrustSet } from '@otafleet/protocol';
import type { Release } from '../scenario/schema.js';

/** The simulator's release key: derived from a fixed id, so a seed rebuilds byte-identical bundles. */
export const SIM_SIGNER: BundleSigner = {
  keyId: 'simulator-release',
  algorithm: 'ed25519',
  privateKey: deriveTestPrivateKey('ed25519', 'simulator-release'),
};

/** The trust set the devices (and the run's own fleet service) check the releases against: the signer's key. */
export const simTrustSet = (signer: BundleSigner = SIM_SIGNER): BundleTrustSet => ({
  keys: [
    {
      id: signer.keyId,
      algorithm: signer.algorithm,
      publicKey: publicKeyPemOf(signer.privateKey),
      status: 'active',
    },
  ],
});

export interface BuiltRelease {
  readonly version: string;
  readonly file: string;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/** Payload bytes that depend only on the release: the same scenario builds the same bundle (same content address). */
function payloadOf(release: Release, bytes: number): Buffer {
  const block = createHash('sha256')
    .update(`${release.name ?? 'app'}@${release.version}`)
    .digest();
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / block.length) }, () => block)).subarray(0, bytes);
}

/** Builds and signs one rootfs-image bundle per release, in `dir`. */
export async function buildReleases(
  releases: readonly Release[],
  dir: string,
  signer: BundleSigner = SIM_SIGNER,
  payloadBytes = 16 * 1024,
): Promise<BuiltRelease[]> {
  await mkdir(dir, { recursive: true });
  const built: BuiltRelease[] = [];
  for (const release of releases) {
    const payload = join(dir, `rootfs-${release.version}.img`);
    await writeFile(payload, payloadOf(release, payloadBytes));
    const file = join(dir, `${release.name ?? 'app'}-${release.version}.otab`);
    await buildBundle(
      {
        name: release.name ?? 'app',
        version: release.version,
        securityVersion: release.securityVersion ?? 0,
        compatibleHardware: [...release.hardware],
        installType: 'rootfs-image',
        createdAt: '2026-01-01T00:00:00Z',
        expiresAt: '2099-01-01T00:00:00Z',
        minAgentVersion: '0.1.0',
        keyId: signer.keyId,
        signatureAlgorithm: signer.algorithm,
        payloads: [{ name: 'rootfs.img', kind: 'image', path: payload }],
      },
      signer,
      file,
    );
    const bytes = await readFile(file);
    built.push({ version: release.version, file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return built;
}

import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundleSignatureAlgorithm, TrustedKey } from '@otafleet/protocol';
import {
  buildBundle,
  ChunkReader,
  createTrustStore,
  generateBundleKeyPair,
  importPrivateKey,
  openBundleFile,
  packDirectory,
  readBundleHead,
  type BundleDraft,
  type BundleSigner,
  type TrustStore,
} from '@otafleet/bundle';

export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'otabundle-test-'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface TestKey extends BundleSigner {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

export function makeKey(keyId: string, algorithm: BundleSignatureAlgorithm): TestKey {
  const pair = generateBundleKeyPair(algorithm);
  const privateKey = importPrivateKey(pair.privateKeyPem, algorithm);
  return {
    keyId,
    algorithm,
    privateKey,
    publicKey: createPublicKey(privateKey),
    publicKeyPem: pair.publicKeyPem,
    privateKeyPem: pair.privateKeyPem,
  };
}

export function trustEntry(key: TestKey, extra: Partial<TrustedKey> = {}): TrustedKey {
  return { id: key.keyId, algorithm: key.algorithm, publicKey: key.publicKeyPem, status: 'active', ...extra };
}

export function trustOf(...entries: TrustedKey[]): TrustStore {
  return createTrustStore({ keys: entries });
}

/** A small app directory: two files, a subdirectory, an executable. */
export async function makeAppDir(root: string, marker = 'v1'): Promise<string> {
  const dir = join(root, `app-src-${marker}`);
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'app.json'), JSON.stringify({ marker }));
  await writeFile(join(dir, 'lib', 'data.bin'), Buffer.alloc(70_000, 7));
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  return dir;
}

export type DraftOverrides = Partial<Omit<BundleDraft, 'payloads'>>;

export function draftFor(key: BundleSigner, payloads: BundleDraft['payloads'], over: DraftOverrides = {}): BundleDraft {
  return {
    name: 'demo-app',
    version: '1.1.0',
    securityVersion: 3,
    compatibleHardware: ['rpi4', 'rpi5'],
    installType: 'app-dir',
    createdAt: '2026-01-01T00:00:00Z',
    expiresAt: '2099-01-01T00:00:00Z',
    minAgentVersion: '1.0.0',
    keyId: key.keyId,
    signatureAlgorithm: key.algorithm,
    ...over,
    payloads,
  };
}

/** Packs an app dir and builds a signed app-dir bundle at `out`. */
export async function buildAppBundle(
  root: string,
  signer: BundleSigner | null,
  out: string,
  over: DraftOverrides = {},
): Promise<string> {
  const src = await makeAppDir(root, out.replace(/\W/g, '_'));
  const tarPath = `${out}.tar`;
  const { entries } = await packDirectory(src, tarPath, { mtime: new Date('2026-01-01T00:00:00Z') });
  const key = signer ?? { keyId: 'unsigned', algorithm: 'ed25519' as const };
  await buildBundle(
    draftFor(key as BundleSigner, [{ name: 'app.tar', kind: 'tar', path: tarPath, entries }], over),
    signer,
    out,
  );
  return out;
}

/** Offset of the first payload byte (after its 8-byte frame header). */
export async function firstPayloadOffset(path: string): Promise<number> {
  const reader = new ChunkReader(openBundleFile(path));
  try {
    return (await readBundleHead(reader)).headLength + 8;
  } finally {
    await reader.close();
  }
}

export async function patchByte(path: string, offset: number, xor = 0x01): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] = (bytes[offset] ?? 0) ^ xor;
  await writeFile(path, bytes);
}

export async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) {
    await Promise.resolve();
    yield bytes.subarray(i, i + size);
  }
}

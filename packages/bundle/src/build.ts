import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import {
  encodeBundleManifest,
  encodeBundlePayloadHeader,
  encodeBundlePreamble,
  encodeBundleSignatureBlock,
  validateBundleManifest,
  MAX_BUNDLE_MANIFEST_BYTES,
  type BundleManifest,
  type BundlePayload,
  type BundlePayloadKind,
  type BundleSignatureAlgorithm,
  type BundleSignatureBlock,
} from '@otafleet/protocol';
import { asBundleError, BundleError } from './errors.js';
import { decodeUntrustedManifest, readBundleHead } from './head.js';
import { signBytes } from './keys.js';
import { ChunkReader } from './reader.js';
import { BUNDLE_READ_CHUNK_BYTES, openBundleFile } from './verify.js';

export interface BundlePayloadSource {
  readonly name: string;
  readonly kind: BundlePayloadKind;
  readonly path: string;
  /** For tar payloads: the number of archive entries, bound into the manifest. */
  readonly entries?: number;
}

/** A manifest before its payloads are measured. */
export type BundleDraft = Omit<BundleManifest, 'formatVersion' | 'payloads'> & {
  readonly payloads: readonly BundlePayloadSource[];
};

export interface BundleSigner {
  readonly keyId: string;
  readonly algorithm: BundleSignatureAlgorithm;
  readonly privateKey: KeyObject;
}

async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, {
    highWaterMark: BUNDLE_READ_CHUNK_BYTES,
  }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Measures each payload (size, SHA-256) and returns the validated manifest. */
export async function createBundleManifest(draft: BundleDraft): Promise<BundleManifest> {
  const payloads: BundlePayload[] = [];
  for (const p of draft.payloads) {
    const { size, sha256 } = await digestFile(p.path);
    payloads.push({
      name: p.name,
      kind: p.kind,
      size,
      sha256,
      ...(p.entries === undefined ? {} : { entries: p.entries }),
    });
  }
  const { payloads: _sources, ...rest } = draft;
  const candidate: BundleManifest = { formatVersion: 1, ...rest, payloads };
  const valid = validateBundleManifest(candidate);
  if (!valid.ok) throw BundleError.from(valid.error);
  if (encodeBundleManifest(valid.value).byteLength > MAX_BUNDLE_MANIFEST_BYTES) {
    throw new BundleError('BUNDLE_MANIFEST_TOO_LARGE', 'manifest exceeds 64 KiB');
  }
  return valid.value;
}

export function signBundleManifest(manifest: BundleManifest, signer: BundleSigner): BundleSignatureBlock {
  if (manifest.keyId !== signer.keyId || manifest.signatureAlgorithm !== signer.algorithm) {
    throw new BundleError(
      'BUNDLE_KEY_ALGORITHM_MISMATCH',
      `manifest names key ${manifest.keyId} (${manifest.signatureAlgorithm}), signer is ${signer.keyId} (${signer.algorithm})`,
    );
  }
  return {
    keyId: signer.keyId,
    algorithm: signer.algorithm,
    signature: signBytes(signer.algorithm, signer.privateKey, encodeBundleManifest(manifest)),
  };
}

/**
 * Writes head + payload frames to `outPath` (via a temp file and rename). Payloads are re-hashed while
 * copied, so a file that changed since the manifest was made fails the build instead of the device.
 */
export async function writeBundleFile(
  outPath: string,
  manifest: BundleManifest,
  signature: BundleSignatureBlock | null,
  payloadPaths: readonly string[],
): Promise<void> {
  if (payloadPaths.length !== manifest.payloads.length) {
    throw new BundleError('BUNDLE_MANIFEST_INVALID', 'one payload path per manifest payload');
  }
  const manifestBytes = encodeBundleManifest(manifest);
  const tmp = `${outPath}.tmp-${process.pid}`;
  const out = await open(tmp, 'w', 0o644);
  try {
    await out.write(encodeBundlePreamble(manifestBytes.byteLength));
    await out.write(manifestBytes);
    await out.write(encodeBundleSignatureBlock(signature));
    for (const [i, declared] of manifest.payloads.entries()) {
      await out.write(encodeBundlePayloadHeader(declared.size));
      await copyFramed(out, payloadPaths[i] ?? '', declared);
    }
    await out.sync();
    await out.close();
    await rename(tmp, outPath);
  } catch (e) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw asBundleError(e);
  }
}

async function copyFramed(out: Awaited<ReturnType<typeof open>>, path: string, declared: BundlePayload): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, {
    highWaterMark: BUNDLE_READ_CHUNK_BYTES,
  }) as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > declared.size) break;
    hash.update(chunk);
    await out.write(chunk);
  }
  if (size !== declared.size || hash.digest('hex') !== declared.sha256) {
    throw new BundleError('BUNDLE_PAYLOAD_DIGEST_MISMATCH', `payload ${declared.name} changed while building`);
  }
}

export interface BuiltBundle {
  readonly manifest: BundleManifest;
  readonly manifestBytes: Uint8Array;
  readonly signed: boolean;
  readonly size: number;
}

/** Measures payloads, signs the manifest (or leaves it unsigned for an external signer) and writes the bundle. */
export async function buildBundle(
  draft: BundleDraft,
  signer: BundleSigner | null,
  outPath: string,
): Promise<BuiltBundle> {
  const manifest = await createBundleManifest(draft);
  const signature = signer === null ? null : signBundleManifest(manifest, signer);
  await writeBundleFile(
    outPath,
    manifest,
    signature,
    draft.payloads.map((p) => p.path),
  );
  return {
    manifest,
    manifestBytes: encodeBundleManifest(manifest),
    signed: signature !== null,
    size: (await stat(outPath)).size,
  };
}

/**
 * Writes a copy of `inPath` carrying a new signature: from a local key, or raw signature bytes made
 * elsewhere (AWS Signer over the manifest bytes that `build` exported). The manifest and payloads are
 * copied byte for byte; the signature is not checked here (run verify with the trust set).
 */
export async function signBundleFile(
  inPath: string,
  outPath: string,
  by:
    | BundleSigner
    | { readonly keyId: string; readonly algorithm: BundleSignatureAlgorithm; readonly signature: Uint8Array },
): Promise<BundleManifest> {
  const reader = new ChunkReader(openBundleFile(inPath));
  const tmp = `${outPath}.tmp-${process.pid}`;
  try {
    const head = await readBundleHead(reader);
    const manifest = decodeUntrustedManifest(head);
    const signature =
      'privateKey' in by
        ? signBundleManifest(manifest, by)
        : { keyId: by.keyId, algorithm: by.algorithm, signature: by.signature };
    if (manifest.keyId !== signature.keyId || manifest.signatureAlgorithm !== signature.algorithm) {
      throw new BundleError(
        'BUNDLE_KEY_ALGORITHM_MISMATCH',
        `manifest names key ${manifest.keyId} (${manifest.signatureAlgorithm})`,
      );
    }
    const out = await open(tmp, 'w', 0o644);
    try {
      await out.write(encodeBundlePreamble(head.manifestBytes.byteLength));
      await out.write(head.manifestBytes);
      await out.write(encodeBundleSignatureBlock(signature));
      for await (const chunk of reader.rest()) await out.write(chunk);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, outPath);
    return manifest;
  } catch (e) {
    await rm(tmp, { force: true });
    throw asBundleError(e);
  } finally {
    await reader.close();
  }
}

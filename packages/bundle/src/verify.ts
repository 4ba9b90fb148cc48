import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_PAYLOAD_HEADER_BYTES,
  decodeBundleManifest,
  decodeBundlePayloadHeader,
  type BundleManifest,
  type BundlePayload,
  type BundleSignatureAlgorithm,
} from '@otafleet/protocol';
import { asBundleError, BundleError } from './errors.js';
import { readBundleHead } from './head.js';
import { verifyBytes } from './keys.js';
import { checkBundlePolicy, type DevicePolicy } from './policy.js';
import { ChunkReader } from './reader.js';
import { resolveVerificationKey, type TrustStore } from './trust.js';

/** 1 MiB reads: large enough that SHA-256, not syscalls, bounds throughput. */
export const BUNDLE_READ_CHUNK_BYTES = 1024 * 1024;

export interface VerifyBundleOptions {
  readonly trust: TrustStore;
  readonly policy?: DevicePolicy;
  /** The device clock; defaults to now. */
  readonly now?: Date;
  /**
   * Where verified payloads are written: a fresh `.verify-*` directory is created inside it and removed
   * again if anything fails. Omit to verify without keeping the payloads.
   */
  readonly workDir?: string;
  /**
   * Sees every raw byte of the bundle as it is read (e.g. to store an upload or hash the whole file in
   * the same pass). A chunk is valid only until the returned promise settles.
   */
  readonly observe?: (chunk: Uint8Array) => void | Promise<void>;
}

export interface VerifiedPayload extends BundlePayload {
  /** The verified bytes on disk, or null when no workDir was given. */
  readonly path: string | null;
}

export interface VerifiedBundle {
  readonly manifest: BundleManifest;
  readonly manifestBytes: Uint8Array;
  /** SHA-256 of the signed manifest: the release's identity (payload digests are inside it). */
  readonly manifestSha256: string;
  readonly keyId: string;
  readonly algorithm: BundleSignatureAlgorithm;
  readonly payloads: readonly VerifiedPayload[];
  /** The directory holding the payload files (remove it when done), or null. */
  readonly payloadDir: string | null;
}

/**
 * Verifies a bundle as it streams past, in constant memory: signature over the manifest first (with the
 * key the trust store allows for its id and algorithm), then the manifest, the device policy, and every
 * payload's size and SHA-256. Nothing is returned, and nothing is left in `workDir`, unless all of it holds.
 */
export async function verifyBundleStream(
  source: AsyncIterable<Uint8Array>,
  options: VerifyBundleOptions,
): Promise<VerifiedBundle> {
  const reader = new ChunkReader(options.observe === undefined ? source : observed(source, options.observe));
  let payloadDir: string | null = null;
  try {
    const now = options.now ?? new Date();
    const head = await readBundleHead(reader);
    if (head.signature === null) throw new BundleError('BUNDLE_UNSIGNED', 'bundle has no signature');
    const { keyId, algorithm, signature } = head.signature;
    const key = resolveVerificationKey(options.trust, keyId, algorithm, now);
    if (!verifyBytes(algorithm, key, head.manifestBytes, signature)) {
      throw new BundleError('BUNDLE_SIGNATURE_INVALID', `manifest signature does not verify with key ${keyId}`);
    }
    const decoded = decodeBundleManifest(head.manifestBytes);
    if (!decoded.ok) throw BundleError.from(decoded.error);
    const manifest = decoded.value;
    if (manifest.keyId !== keyId || manifest.signatureAlgorithm !== algorithm) {
      throw new BundleError('BUNDLE_SIGNATURE_BLOCK_INVALID', 'signature block disagrees with the signed manifest');
    }
    checkBundlePolicy(manifest, options.policy ?? {}, now);

    if (options.workDir !== undefined) {
      await mkdir(options.workDir, { recursive: true });
      payloadDir = await mkdtemp(join(options.workDir, '.verify-'));
    }
    const payloads: VerifiedPayload[] = [];
    for (const [index, declared] of manifest.payloads.entries()) {
      const path = payloadDir === null ? null : join(payloadDir, `${index}-${declared.name}`);
      await streamPayload(reader, declared, path);
      payloads.push({ ...declared, path });
    }
    if (!(await reader.atEnd())) throw new BundleError('BUNDLE_TRAILING_DATA', 'bytes follow the last payload');
    return {
      manifest,
      manifestBytes: head.manifestBytes,
      manifestSha256: createHash('sha256').update(head.manifestBytes).digest('hex'),
      keyId,
      algorithm,
      payloads,
      payloadDir,
    };
  } catch (e) {
    if (payloadDir !== null) await rm(payloadDir, { recursive: true, force: true });
    throw asBundleError(e);
  } finally {
    await reader.close();
  }
}

async function* observed(
  source: AsyncIterable<Uint8Array>,
  observe: (chunk: Uint8Array) => void | Promise<void>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    await observe(chunk);
    yield chunk;
  }
}

async function streamPayload(reader: ChunkReader, declared: BundlePayload, path: string | null): Promise<void> {
  const what = `payload ${declared.name}`;
  const framed = decodeBundlePayloadHeader(await reader.readExact(BUNDLE_PAYLOAD_HEADER_BYTES, `${what} header`));
  if (framed === null || framed > declared.size) {
    throw new BundleError(
      'BUNDLE_PAYLOAD_TOO_LARGE',
      `${what} is framed larger than its declared ${declared.size} bytes`,
    );
  }
  if (framed < declared.size) {
    throw new BundleError('BUNDLE_PAYLOAD_SIZE_MISMATCH', `${what} is ${framed} bytes, declared ${declared.size}`);
  }
  const hash = createHash('sha256');
  const out = path === null ? null : await open(path, 'wx', 0o600);
  try {
    for await (const chunk of reader.stream(declared.size, what)) {
      hash.update(chunk);
      if (out !== null) await out.write(chunk);
    }
    if (out !== null) await out.sync();
  } finally {
    await out?.close();
  }
  const digest = hash.digest('hex');
  if (digest !== declared.sha256) {
    throw new BundleError('BUNDLE_PAYLOAD_DIGEST_MISMATCH', `${what} SHA-256 ${digest} != declared ${declared.sha256}`);
  }
}

/**
 * Reads a file in 1 MiB chunks into ONE reused buffer, so memory stays flat however large the bundle
 * (a stream allocating a fresh buffer per chunk lets garbage pile up to tens of MB before GC runs); a smaller
 * file gets a buffer of its own size (a simulated fleet verifies a few-kB bundle twice per device: a 1 MiB buffer
 * each time was 2 % of its CPU and most of its garbage). Each chunk is only valid until the next one is
 * requested: consumers hash, write or copy it first.
 */
export async function* openBundleFile(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    // At least one byte, so a read of 0 always means the end (even of a file that grew since the stat).
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(BUNDLE_READ_CHUNK_BYTES, size)));
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

export async function verifyBundleFile(path: string, options: VerifyBundleOptions): Promise<VerifiedBundle> {
  return verifyBundleStream(openBundleFile(path), options);
}

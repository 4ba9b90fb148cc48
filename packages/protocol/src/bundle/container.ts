import type { BundleSignatureAlgorithm, BundleFormatError } from './manifest.js';
import { MAX_BUNDLE_MANIFEST_BYTES } from './manifest.js';
import { err, ok, type Result } from '../result.js';

/**
 * Container layout (all integers big-endian):
 *
 *   preamble   magic "OTABUNDL" (8) | format version u16 | reserved u16 = 0 | manifest length u32
 *   manifest   canonical JSON (see encodeBundleManifest), at most 64 KiB
 *   signature  algorithm u8 (0 unsigned, 1 ecdsa-p256-sha256, 2 ed25519) | key id length u8 |
 *              signature length u16 | key id (ASCII) | signature bytes
 *   payloads   for each manifest payload, in order: length u64 | bytes
 *   end        nothing may follow the last payload
 *
 * The signature is over the manifest bytes alone; the manifest binds every payload by size and SHA-256
 * and names its own key id and algorithm, so the signature block cannot be relabelled. Each payload
 * carries its own length so a payload longer than declared is refused before a byte of it is read.
 */
export const BUNDLE_MAGIC: Uint8Array = new TextEncoder().encode('OTABUNDL');
export const BUNDLE_FORMAT_VERSION = 1;
export const BUNDLE_PREAMBLE_BYTES = 16;
export const BUNDLE_SIGNATURE_HEADER_BYTES = 4;
export const BUNDLE_PAYLOAD_HEADER_BYTES = 8;
export const MAX_BUNDLE_SIGNATURE_BYTES = 512;
export const BUNDLE_FILE_EXTENSION = '.otab';

const ALGORITHM_IDS: Record<BundleSignatureAlgorithm, number> = { 'ecdsa-p256-sha256': 1, ed25519: 2 };

export function encodeBundlePreamble(manifestLength: number): Uint8Array {
  const b = new Uint8Array(BUNDLE_PREAMBLE_BYTES);
  b.set(BUNDLE_MAGIC, 0);
  const v = new DataView(b.buffer);
  v.setUint16(8, BUNDLE_FORMAT_VERSION);
  v.setUint16(10, 0);
  v.setUint32(12, manifestLength);
  return b;
}

/** Returns the manifest length; refuses an oversized manifest from its length alone. */
export function decodeBundlePreamble(b: Uint8Array): Result<{ readonly manifestLength: number }, BundleFormatError> {
  if (b.byteLength < BUNDLE_PREAMBLE_BYTES)
    return err({ code: 'BUNDLE_TRUNCATED', message: 'file ends in the preamble' });
  for (let i = 0; i < BUNDLE_MAGIC.byteLength; i++) {
    if (b[i] !== BUNDLE_MAGIC[i]) return err({ code: 'BUNDLE_BAD_MAGIC', message: 'not an OTA bundle (bad magic)' });
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = v.getUint16(8);
  if (version !== BUNDLE_FORMAT_VERSION || v.getUint16(10) !== 0) {
    return err({ code: 'BUNDLE_UNSUPPORTED_FORMAT', message: `format version ${version} is not supported` });
  }
  const manifestLength = v.getUint32(12);
  if (manifestLength > MAX_BUNDLE_MANIFEST_BYTES) {
    return err({
      code: 'BUNDLE_MANIFEST_TOO_LARGE',
      message: `manifest length ${manifestLength} exceeds ${MAX_BUNDLE_MANIFEST_BYTES}`,
    });
  }
  if (manifestLength === 0) return err({ code: 'BUNDLE_MANIFEST_INVALID', message: 'empty manifest' });
  return ok({ manifestLength });
}

export interface BundleSignatureBlock {
  readonly algorithm: BundleSignatureAlgorithm;
  readonly keyId: string;
  readonly signature: Uint8Array;
}

export interface BundleSignatureHeader {
  /** null: the bundle is unsigned (built for external signing). */
  readonly algorithm: BundleSignatureAlgorithm | null;
  readonly keyIdLength: number;
  readonly signatureLength: number;
}

export function encodeBundleSignatureBlock(block: BundleSignatureBlock | null): Uint8Array {
  if (block === null) return new Uint8Array(BUNDLE_SIGNATURE_HEADER_BYTES);
  const keyId = new TextEncoder().encode(block.keyId);
  if (keyId.byteLength === 0 || keyId.byteLength > 255) throw new RangeError('key id must be 1..255 bytes');
  if (block.signature.byteLength === 0 || block.signature.byteLength > MAX_BUNDLE_SIGNATURE_BYTES) {
    throw new RangeError(`signature must be 1..${MAX_BUNDLE_SIGNATURE_BYTES} bytes`);
  }
  const b = new Uint8Array(BUNDLE_SIGNATURE_HEADER_BYTES + keyId.byteLength + block.signature.byteLength);
  const v = new DataView(b.buffer);
  v.setUint8(0, ALGORITHM_IDS[block.algorithm]);
  v.setUint8(1, keyId.byteLength);
  v.setUint16(2, block.signature.byteLength);
  b.set(keyId, BUNDLE_SIGNATURE_HEADER_BYTES);
  b.set(block.signature, BUNDLE_SIGNATURE_HEADER_BYTES + keyId.byteLength);
  return b;
}

export function decodeBundleSignatureHeader(b: Uint8Array): Result<BundleSignatureHeader, BundleFormatError> {
  if (b.byteLength < BUNDLE_SIGNATURE_HEADER_BYTES) {
    return err({ code: 'BUNDLE_TRUNCATED', message: 'file ends in the signature block' });
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const id = v.getUint8(0);
  const keyIdLength = v.getUint8(1);
  const signatureLength = v.getUint16(2);
  if (id === 0) {
    if (keyIdLength !== 0 || signatureLength !== 0) {
      return err({ code: 'BUNDLE_SIGNATURE_BLOCK_INVALID', message: 'unsigned block with a key id or signature' });
    }
    return ok({ algorithm: null, keyIdLength, signatureLength });
  }
  const algorithm = (Object.keys(ALGORITHM_IDS) as BundleSignatureAlgorithm[]).find((a) => ALGORITHM_IDS[a] === id);
  if (algorithm === undefined) {
    return err({ code: 'BUNDLE_SIGNATURE_BLOCK_INVALID', message: `unknown signature algorithm id ${id}` });
  }
  if (keyIdLength === 0 || signatureLength === 0 || signatureLength > MAX_BUNDLE_SIGNATURE_BYTES) {
    return err({ code: 'BUNDLE_SIGNATURE_BLOCK_INVALID', message: 'bad key id or signature length' });
  }
  return ok({ algorithm, keyIdLength, signatureLength });
}

export function encodeBundlePayloadHeader(size: number): Uint8Array {
  const b = new Uint8Array(BUNDLE_PAYLOAD_HEADER_BYTES);
  new DataView(b.buffer).setBigUint64(0, BigInt(size));
  return b;
}

/** The framed length of the next payload, or null when it cannot be a JS safe integer. */
export function decodeBundlePayloadHeader(b: Uint8Array): number | null {
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
}

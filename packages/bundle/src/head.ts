import {
  BUNDLE_PREAMBLE_BYTES,
  BUNDLE_SIGNATURE_HEADER_BYTES,
  decodeBundleManifest,
  decodeBundlePreamble,
  decodeBundleSignatureHeader,
  type BundleManifest,
  type BundleSignatureBlock,
} from '@otafleet/protocol';
import { BundleError } from './errors.js';
import type { ChunkReader } from './reader.js';

/** Everything before the payloads, as read from the wire: nothing here is trusted yet. */
export interface BundleHead {
  readonly manifestBytes: Uint8Array;
  /** null: an unsigned bundle, waiting for `signBundleFile`. */
  readonly signature: BundleSignatureBlock | null;
  /** Offset of the first payload frame. */
  readonly headLength: number;
}

export async function readBundleHead(reader: ChunkReader): Promise<BundleHead> {
  const preamble = decodeBundlePreamble(await reader.readExact(BUNDLE_PREAMBLE_BYTES, 'preamble'));
  if (!preamble.ok) throw BundleError.from(preamble.error);
  const manifestBytes = await reader.readExact(preamble.value.manifestLength, 'manifest');
  const sigHeader = decodeBundleSignatureHeader(
    await reader.readExact(BUNDLE_SIGNATURE_HEADER_BYTES, 'signature block'),
  );
  if (!sigHeader.ok) throw BundleError.from(sigHeader.error);
  const { algorithm, keyIdLength, signatureLength } = sigHeader.value;
  let signature: BundleSignatureBlock | null = null;
  if (algorithm !== null) {
    const keyIdBytes = await reader.readExact(keyIdLength, 'signature block');
    const sig = await reader.readExact(signatureLength, 'signature block');
    let keyId: string;
    try {
      keyId = new TextDecoder('utf-8', { fatal: true }).decode(keyIdBytes);
    } catch {
      throw new BundleError('BUNDLE_SIGNATURE_BLOCK_INVALID', 'key id is not UTF-8');
    }
    signature = { algorithm, keyId, signature: sig };
  }
  return { manifestBytes, signature, headLength: reader.position };
}

/** Decodes the manifest without any signature check: for `inspect` and for signing, never for installing. */
export function decodeUntrustedManifest(head: BundleHead): BundleManifest {
  const decoded = decodeBundleManifest(head.manifestBytes);
  if (!decoded.ok) throw BundleError.from(decoded.error);
  return decoded.value;
}

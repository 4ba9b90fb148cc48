import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import {
  parseBundleTrustSet,
  type BundleSignatureAlgorithm,
  type BundleTrustSet,
  type TrustedKey,
} from '@otafleet/protocol';
import { BundleError } from './errors.js';
import { importPublicKey } from './keys.js';

/** A trust set whose public keys have been imported and checked against their pinned algorithms. */
export interface TrustStore {
  readonly keys: readonly TrustedKey[];
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
}

export function createTrustStore(trust: BundleTrustSet): TrustStore {
  const publicKeys = new Map<string, KeyObject>();
  for (const k of trust.keys) {
    try {
      publicKeys.set(k.id, importPublicKey(k.publicKey, k.algorithm));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new BundleError('BUNDLE_TRUST_SET_INVALID', `key ${k.id}: ${why}`, { cause: e });
    }
  }
  return { keys: trust.keys, publicKeys };
}

export function parseTrustStore(json: string | Uint8Array): TrustStore {
  const parsed = parseBundleTrustSet(json);
  if (!parsed.ok) throw BundleError.from(parsed.error);
  return createTrustStore(parsed.value);
}

export async function loadTrustStore(path: string): Promise<TrustStore> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new BundleError('BUNDLE_TRUST_SET_INVALID', `cannot read trust set ${path}`, { cause: e });
  }
  return parseTrustStore(bytes);
}

/**
 * The public key a signature by `keyId` under `algorithm` may be checked with, at `now`; throws the
 * specific reason it may not.
 */
export function resolveVerificationKey(
  store: TrustStore,
  keyId: string,
  algorithm: BundleSignatureAlgorithm,
  now: Date,
): KeyObject {
  const entry = store.keys.find((k) => k.id === keyId);
  const key = store.publicKeys.get(keyId);
  if (entry === undefined || key === undefined)
    throw new BundleError('BUNDLE_KEY_UNKNOWN', `key ${keyId} is not trusted`);
  if (entry.status === 'revoked') throw new BundleError('BUNDLE_KEY_REVOKED', `key ${keyId} is revoked`);
  if (entry.algorithm !== algorithm) {
    throw new BundleError(
      'BUNDLE_KEY_ALGORITHM_MISMATCH',
      `key ${keyId} is pinned to ${entry.algorithm}, bundle is signed with ${algorithm}`,
    );
  }
  if (entry.notAfter !== undefined && now.getTime() > Date.parse(entry.notAfter)) {
    throw new BundleError('BUNDLE_KEY_EXPIRED', `key ${keyId} is not valid after ${entry.notAfter}`);
  }
  return key;
}

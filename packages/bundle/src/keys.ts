import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { BundleSignatureAlgorithm } from '@otafleet/protocol';
import { BundleError } from './errors.js';

export interface BundleKeyPair {
  readonly algorithm: BundleSignatureAlgorithm;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export function generateBundleKeyPair(algorithm: BundleSignatureAlgorithm): BundleKeyPair {
  const pair =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    algorithm,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The algorithm a key object can sign or verify with, or null when it is neither P-256 nor Ed25519. */
export function keyAlgorithm(key: KeyObject): BundleSignatureAlgorithm | null {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ecdsa-p256-sha256';
  }
  return null;
}

export function importPrivateKey(pem: string | Buffer, expected?: BundleSignatureAlgorithm): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new BundleError('BUNDLE_KEY_INVALID', 'not a PEM private key', { cause: e });
  }
  checkAlgorithm(key, expected);
  return key;
}

export function importPublicKey(pem: string | Buffer, expected?: BundleSignatureAlgorithm): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new BundleError('BUNDLE_KEY_INVALID', 'not a PEM public key', { cause: e });
  }
  checkAlgorithm(key, expected);
  return key;
}

function checkAlgorithm(key: KeyObject, expected: BundleSignatureAlgorithm | undefined): void {
  const actual = keyAlgorithm(key);
  if (actual === null) throw new BundleError('BUNDLE_KEY_INVALID', 'key is neither ECDSA P-256 nor Ed25519');
  if (expected !== undefined && actual !== expected) {
    throw new BundleError('BUNDLE_KEY_ALGORITHM_MISMATCH', `key is ${actual}, expected ${expected}`);
  }
}

/**
 * ECDSA signatures are produced DER-encoded (ASN.1 SEQUENCE of r, s), the encoding AWS Signer's code
 * signing for AWS IoT returns, so a manifest signed there verifies here unchanged; only DER is accepted.
 * See https://docs.aws.amazon.com/iot/latest/apireference/API_CustomCodeSigning.html
 * Ed25519 signs the message itself (no prehash), 64 bytes, deterministic.
 */
export function signBytes(algorithm: BundleSignatureAlgorithm, privateKey: KeyObject, message: Uint8Array): Uint8Array {
  checkAlgorithm(privateKey, algorithm);
  return algorithm === 'ed25519'
    ? sign(null, message, privateKey)
    : sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
}

export function verifyBytes(
  algorithm: BundleSignatureAlgorithm,
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (keyAlgorithm(publicKey) !== algorithm) return false;
  try {
    return algorithm === 'ed25519'
      ? verify(null, message, publicKey, signature)
      : verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    // OpenSSL throws on malformed DER rather than returning false; both mean "not a valid signature".
    return false;
  }
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const P256_PKCS8_PREFIX = Buffer.from('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420', 'hex');

/**
 * A key derived from a passphrase, for reproducible test and sample bundles only: anyone who knows
 * the passphrase can sign. Never trust such a key on a real device.
 */
export function deriveTestPrivateKey(algorithm: BundleSignatureAlgorithm, passphrase: string): KeyObject {
  const seed = createHash('sha256').update(`otafleet-test-key:${algorithm}:${passphrase}`).digest();
  const der = Buffer.concat([algorithm === 'ed25519' ? ED25519_PKCS8_PREFIX : P256_PKCS8_PREFIX, seed]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export function publicKeyPemOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

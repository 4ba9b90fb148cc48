export { BundleError, isBundleError, asBundleError, type BundleErrorCode } from './errors.js';
export {
  generateBundleKeyPair,
  importPrivateKey,
  importPublicKey,
  keyAlgorithm,
  signBytes,
  verifyBytes,
  deriveTestPrivateKey,
  publicKeyPemOf,
  type BundleKeyPair,
} from './keys.js';
export { createTrustStore, parseTrustStore, loadTrustStore, resolveVerificationKey, type TrustStore } from './trust.js';
export { ChunkReader } from './reader.js';
export { readBundleHead, decodeUntrustedManifest, type BundleHead } from './head.js';
export { checkBundlePolicy, type DevicePolicy } from './policy.js';
export {
  verifyBundleStream,
  verifyBundleFile,
  openBundleFile,
  BUNDLE_READ_CHUNK_BYTES,
  type VerifyBundleOptions,
  type VerifiedBundle,
  type VerifiedPayload,
} from './verify.js';
export {
  createBundleManifest,
  signBundleManifest,
  writeBundleFile,
  buildBundle,
  signBundleFile,
  type BundleDraft,
  type BundlePayloadSource,
  type BundleSigner,
  type BuiltBundle,
} from './build.js';
export { packDirectory, type PackOptions } from './tar-pack.js';
export {
  extractTarSafely,
  extractVerifiedBundle,
  symlinkStaysInside,
  safeEntryPath,
  type ExtractOptions,
  type ExtractResult,
} from './extract.js';
export { unpackBundleFile, type UnpackedBundle } from './install.js';

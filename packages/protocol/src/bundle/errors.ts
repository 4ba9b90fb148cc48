/**
 * Stable reasons a bundle is refused. Tests, the agent's job status reports and the fleet service's
 * upload errors all use these codes; messages are for humans and may change.
 */
export const BUNDLE_ERROR_CODES = [
  // container structure
  'BUNDLE_TRUNCATED',
  'BUNDLE_BAD_MAGIC',
  'BUNDLE_UNSUPPORTED_FORMAT',
  'BUNDLE_MANIFEST_TOO_LARGE',
  'BUNDLE_MANIFEST_INVALID',
  'BUNDLE_MANIFEST_NOT_CANONICAL',
  'BUNDLE_SIGNATURE_BLOCK_INVALID',
  'BUNDLE_UNSIGNED',
  // signature and keys
  'BUNDLE_SIGNATURE_INVALID',
  'BUNDLE_KEY_UNKNOWN',
  'BUNDLE_KEY_REVOKED',
  'BUNDLE_KEY_EXPIRED',
  'BUNDLE_KEY_ALGORITHM_MISMATCH',
  'BUNDLE_KEY_INVALID',
  'BUNDLE_TRUST_SET_INVALID',
  // device policy
  'BUNDLE_EXPIRED',
  'BUNDLE_NOT_YET_VALID',
  'BUNDLE_HARDWARE_MISMATCH',
  'BUNDLE_DOWNGRADE',
  'BUNDLE_SECURITY_VERSION_ROLLBACK',
  'BUNDLE_AGENT_TOO_OLD',
  // payloads
  'BUNDLE_PAYLOAD_TOO_LARGE',
  'BUNDLE_PAYLOAD_SIZE_MISMATCH',
  'BUNDLE_PAYLOAD_DIGEST_MISMATCH',
  'BUNDLE_TRAILING_DATA',
  // extraction
  'BUNDLE_UNSAFE_ENTRY',
  'BUNDLE_DUPLICATE_ENTRY',
  'BUNDLE_SPECIAL_FILE',
  'BUNDLE_TOO_MANY_ENTRIES',
  'BUNDLE_ARCHIVE_INVALID',
  'BUNDLE_TARGET_EXISTS',
  // local I/O (disk full, permissions): not a property of the bundle
  'BUNDLE_IO_ERROR',
] as const;

export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

export function isBundleErrorCode(value: unknown): value is BundleErrorCode {
  return typeof value === 'string' && (BUNDLE_ERROR_CODES as readonly string[]).includes(value);
}

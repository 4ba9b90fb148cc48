import { Type, type Static } from '@sinclair/typebox';
import { BundleSignatureAlgorithmSchema, isRealUtcTimestamp, type BundleFormatError } from './manifest.js';
import { parseJsonPayload } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { compileValidator, describeIssues } from '../schema.js';

/**
 * active:  verifies bundles; the signing tool signs with it.
 * retired: still verifies bundles (devices can reinstall or roll forward to releases signed before the
 *          rotation) but the signing tool refuses it; set `notAfter` to bound how long.
 * revoked: never verifies anything, whatever its dates (the key is presumed compromised).
 * `notAfter` (any status): after this instant, on the device's clock, the key verifies nothing.
 */
export const TrustedKeyStatusSchema = Type.Union([
  Type.Literal('active'),
  Type.Literal('retired'),
  Type.Literal('revoked'),
]);
export type TrustedKeyStatus = Static<typeof TrustedKeyStatusSchema>;

export const TrustedKeySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    /** The key is pinned to this algorithm: a signature by it under any other algorithm is refused. */
    algorithm: BundleSignatureAlgorithmSchema,
    publicKey: Type.String({ minLength: 1, maxLength: 4096 }),
    status: TrustedKeyStatusSchema,
    notAfter: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$' })),
  },
  { additionalProperties: false },
);
export type TrustedKey = Static<typeof TrustedKeySchema>;

export const BundleTrustSetSchema = Type.Object(
  { keys: Type.Array(TrustedKeySchema, { maxItems: 256 }) },
  { additionalProperties: false },
);
export type BundleTrustSet = Static<typeof BundleTrustSetSchema>;

export const MAX_TRUST_SET_BYTES = 1024 * 1024;

const trustSetValidator = compileValidator(BundleTrustSetSchema);

/** Schema check plus unique ids; the PEM itself is checked when the bundle library imports it. */
export function parseBundleTrustSet(input: Uint8Array | string): Result<BundleTrustSet, BundleFormatError> {
  const parsed = parseJsonPayload(input, MAX_TRUST_SET_BYTES);
  if (!parsed.ok)
    return err({ code: 'BUNDLE_TRUST_SET_INVALID', message: `trust set is not JSON (${parsed.error.kind})` });
  const checked = trustSetValidator.validate(parsed.value);
  if (!checked.ok) return err({ code: 'BUNDLE_TRUST_SET_INVALID', message: describeIssues(checked.error) });
  const ids = new Set(checked.value.keys.map((k) => k.id));
  if (ids.size !== checked.value.keys.length) {
    return err({ code: 'BUNDLE_TRUST_SET_INVALID', message: 'key ids must be unique' });
  }
  const badDate = checked.value.keys.find((k) => k.notAfter !== undefined && !isRealUtcTimestamp(k.notAfter));
  if (badDate !== undefined)
    return err({ code: 'BUNDLE_TRUST_SET_INVALID', message: `key ${badDate.id}: bad notAfter` });
  return ok(checked.value);
}

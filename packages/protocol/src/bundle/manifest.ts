import { Type, type Static } from '@sinclair/typebox';
import { canonicalJson } from './canonical.js';
import type { BundleErrorCode } from './errors.js';
import { parseJsonPayload } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { compileValidator, describeIssues } from '../schema.js';

/** Largest manifest a verifier will read; checked from the length prefix before reading the bytes. */
export const MAX_BUNDLE_MANIFEST_BYTES = 64 * 1024;

/** semver.org's recommended expression, anchored; the fleet compares versions with `semver` precedence. */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';
const UTC_TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$';
const IDENT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const BUNDLE_SIGNATURE_ALGORITHMS = ['ecdsa-p256-sha256', 'ed25519'] as const;
export type BundleSignatureAlgorithm = (typeof BUNDLE_SIGNATURE_ALGORITHMS)[number];

export const BundleSignatureAlgorithmSchema = Type.Union([Type.Literal('ecdsa-p256-sha256'), Type.Literal('ed25519')]);

/**
 * app-dir: the first payload is a tar extracted into a fresh application directory.
 * rootfs-image: the first payload is a raw filesystem image written to the inactive slot.
 * script: the first payload is an executable the agent runs.
 */
export const BundleInstallTypeSchema = Type.Union([
  Type.Literal('app-dir'),
  Type.Literal('rootfs-image'),
  Type.Literal('script'),
]);
export type BundleInstallType = Static<typeof BundleInstallTypeSchema>;

export const BundlePayloadKindSchema = Type.Union([Type.Literal('tar'), Type.Literal('image'), Type.Literal('script')]);
export type BundlePayloadKind = Static<typeof BundlePayloadKindSchema>;

export const BundlePayloadSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }),
    kind: BundlePayloadKindSchema,
    size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    /** For tar payloads: the exact number of archive entries; extraction refuses any more. */
    entries: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type BundlePayload = Static<typeof BundlePayloadSchema>;

export const BundleManifestSchema = Type.Object(
  {
    formatVersion: Type.Literal(1),
    name: Type.String({ pattern: IDENT_PATTERN }),
    version: Type.String({ pattern: SEMVER_PATTERN, maxLength: 128 }),
    /** Monotonic anti-rollback counter: a device never installs a lower one than it has installed. */
    securityVersion: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    compatibleHardware: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' }), {
      minItems: 1,
      maxItems: 64,
      uniqueItems: true,
    }),
    installType: BundleInstallTypeSchema,
    payloads: Type.Array(BundlePayloadSchema, { minItems: 1, maxItems: 16 }),
    createdAt: Type.String({ pattern: UTC_TIMESTAMP_PATTERN }),
    expiresAt: Type.String({ pattern: UTC_TIMESTAMP_PATTERN }),
    minAgentVersion: Type.String({ pattern: SEMVER_PATTERN, maxLength: 128 }),
    keyId: Type.String({ pattern: IDENT_PATTERN }),
    signatureAlgorithm: BundleSignatureAlgorithmSchema,
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type BundleManifest = Static<typeof BundleManifestSchema>;

export const bundleManifestValidator = compileValidator(BundleManifestSchema);

export interface BundleFormatError {
  readonly code: BundleErrorCode;
  readonly message: string;
}

const FIRST_PAYLOAD_KIND: Record<BundleInstallType, BundlePayloadKind> = {
  'app-dir': 'tar',
  'rootfs-image': 'image',
  script: 'script',
};

/** Schema plus the rules a schema cannot say: real dates, expiry after creation, unique payload names. */
export function validateBundleManifest(value: unknown): Result<BundleManifest, BundleFormatError> {
  const checked = bundleManifestValidator.validate(value);
  if (!checked.ok) return err({ code: 'BUNDLE_MANIFEST_INVALID', message: describeIssues(checked.error) });
  const m = checked.value;
  const created = Date.parse(m.createdAt);
  const expires = Date.parse(m.expiresAt);
  if (!isRealUtcTimestamp(m.createdAt) || !isRealUtcTimestamp(m.expiresAt)) {
    return err({ code: 'BUNDLE_MANIFEST_INVALID', message: 'createdAt/expiresAt is not a real date' });
  }
  if (expires <= created) {
    return err({ code: 'BUNDLE_MANIFEST_INVALID', message: 'expiresAt must be after createdAt' });
  }
  const names = new Set(m.payloads.map((p) => p.name));
  if (names.size !== m.payloads.length) {
    return err({ code: 'BUNDLE_MANIFEST_INVALID', message: 'payload names must be unique' });
  }
  const first = m.payloads[0];
  if (first === undefined || first.kind !== FIRST_PAYLOAD_KIND[m.installType]) {
    return err({
      code: 'BUNDLE_MANIFEST_INVALID',
      message: `installType ${m.installType} needs a first payload of kind ${FIRST_PAYLOAD_KIND[m.installType]}`,
    });
  }
  for (const p of m.payloads) {
    if (p.entries !== undefined && p.kind !== 'tar') {
      return err({ code: 'BUNDLE_MANIFEST_INVALID', message: `payload ${p.name}: entries is only for tar payloads` });
    }
  }
  return ok(m);
}

/** Date.parse is lenient (Feb 31 becomes Mar 3): a timestamp is real only if it prints back unchanged. */
export function isRealUtcTimestamp(s: string): boolean {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return false;
  return new Date(ms).toISOString() === (s.length === 20 ? `${s.slice(0, 19)}.000Z` : s);
}

/** The exact bytes that are signed. */
export function encodeBundleManifest(manifest: BundleManifest): Uint8Array {
  return new TextEncoder().encode(canonicalJson(manifest));
}

/**
 * Parses manifest bytes and insists they are the canonical encoding of what they decode to, so one
 * signed manifest has exactly one byte form (no duplicate keys, no whitespace games).
 */
export function decodeBundleManifest(bytes: Uint8Array): Result<BundleManifest, BundleFormatError> {
  if (bytes.byteLength > MAX_BUNDLE_MANIFEST_BYTES) {
    return err({ code: 'BUNDLE_MANIFEST_TOO_LARGE', message: `manifest is ${bytes.byteLength} bytes` });
  }
  const parsed = parseJsonPayload(bytes, MAX_BUNDLE_MANIFEST_BYTES);
  if (!parsed.ok) {
    const e = parsed.error;
    const detail = e.kind === 'invalid-json' ? e.detail : e.kind;
    return err({ code: 'BUNDLE_MANIFEST_INVALID', message: `manifest is not JSON: ${detail}` });
  }
  const valid = validateBundleManifest(parsed.value);
  if (!valid.ok) return valid;
  const canonical = encodeBundleManifest(valid.value);
  if (!bytesEqual(canonical, bytes)) {
    return err({ code: 'BUNDLE_MANIFEST_NOT_CANONICAL', message: 'manifest bytes are not in canonical form' });
  }
  return ok(valid.value);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

import { Type, type Static } from '@sinclair/typebox';
import { BundleManifestSchema, compileValidator, describeIssues } from '@otafleet/protocol';
import { SlotError } from './errors.js';
import type { SlotContents } from './types.js';

/** The job document allows at most 10 boot attempts (rollback.maxBootAttempts); the GRUB script counts to 10. */
export const MAX_TRIAL_ATTEMPTS = 10;

export const SlotIdSchema = Type.Union([Type.Literal('A'), Type.Literal('B')]);

/** Name, version and security version follow the bundle manifest's own rules (one definition). */
export const SlotContentsSchema = Type.Object(
  {
    name: BundleManifestSchema.properties.name,
    version: BundleManifestSchema.properties.version,
    securityVersion: BundleManifestSchema.properties.securityVersion,
    manifestSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);

export const SlotTrialSchema = Type.Object(
  {
    slot: SlotIdSchema,
    attempts: Type.Integer({ minimum: 0, maximum: MAX_TRIAL_ATTEMPTS }),
    maxAttempts: Type.Integer({ minimum: 1, maximum: MAX_TRIAL_ATTEMPTS }),
  },
  { additionalProperties: false },
);

export const FailedTrialSchema = Type.Object(
  {
    ...SlotTrialSchema.properties,
    reason: Type.Union([Type.Literal('attempts-exhausted'), Type.Literal('rolled-back')]),
  },
  { additionalProperties: false },
);

const NullableContents = Type.Union([SlotContentsSchema, Type.Null()]);

/**
 * The agent's own slot record file. Every backend keeps `versions` in it; the directory backend (no
 * bootloader) also keeps `committed`, `trial` and `failedTrial`; tryboot keeps `trial` and `failedTrial`
 * (the committed slot lives in autoboot.txt); the virtual backend also remembers `booted`.
 */
export const SlotRecordSchema = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    committed: Type.Optional(SlotIdSchema),
    booted: Type.Optional(SlotIdSchema),
    trial: Type.Optional(Type.Union([SlotTrialSchema, Type.Null()])),
    failedTrial: Type.Optional(Type.Union([FailedTrialSchema, Type.Null()])),
    versions: Type.Object(
      { A: Type.Optional(NullableContents), B: Type.Optional(NullableContents) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SlotRecord = Static<typeof SlotRecordSchema>;

export const slotRecordValidator = compileValidator(SlotRecordSchema);
const contentsValidator = compileValidator(SlotContentsSchema);

/** Refuses contents that would not survive a round trip through the record file. */
export function checkSlotContents(contents: SlotContents): SlotContents {
  const checked = contentsValidator.validate(contents);
  if (!checked.ok) {
    throw new SlotError('SLOT_INVALID_ARGUMENT', `slot contents: ${describeIssues(checked.error)}`);
  }
  const { name, version, securityVersion, manifestSha256 } = checked.value;
  return { name, version, securityVersion, manifestSha256 };
}

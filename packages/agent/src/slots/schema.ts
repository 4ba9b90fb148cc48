import { Type, type Static } from '@sinclair/typebox';
import {
  compileValidator,
  describeIssues,
  RollbackPolicySchema,
  Sha256HexSchema,
  SlotContentSchema,
  SlotSchema,
} from '@otafleet/protocol';
import { SlotError } from './errors.js';
import type { SlotContents } from './types.js';

/** The job document's limit on boot attempts (rollback.maxBootAttempts); the GRUB script counts up to it. */
export const MAX_TRIAL_ATTEMPTS: number = RollbackPolicySchema.properties.maxBootAttempts.maximum ?? 10;

export const SlotIdSchema = SlotSchema;

/** protocol's SlotContent plus the manifest digest, each field by protocol's own rule. */
export const SlotContentsSchema = Type.Object(
  { ...SlotContentSchema.properties, manifestSha256: Sha256HexSchema },
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

import { Type, type Static } from '@sinclair/typebox';
import { StatusDetailsSchema, type StatusDetails } from '../jobs/payloads.js';
import { err, ok, type Result } from '../result.js';
import { compileValidator } from '../schema.js';
import { OtaTextSchema, SemVerSchema, SlotSchema, toOtaText, type Slot } from './fields.js';
import { fieldsError, type OtaPayloadError } from './payload.js';
import { OtaPhaseSchema, type OtaPhase } from './phases.js';
import { OtaReasonCodeSchema, type OtaReasonCode } from './reason-codes.js';
import { compileTaggedValidator } from './tagged-union.js';

/**
 * The statusDetails every OTA job execution carries. AWS keeps at most 10 pairs of strings (see
 * StatusDetailsSchema) and replaces the whole map on each update, so the agent sends every key it has each
 * time, built by `otaStatusDetails`; the fleet service reads them back with `parseOtaStatusDetails`.
 */
export const OTA_STATUS_DETAIL_KEYS = [
  'phase',
  /** Percent of the current phase, 0–100. */
  'progress',
  'bytesDownloaded',
  'bytesTotal',
  'reasonCode',
  'reason',
  'fromVersion',
  'toVersion',
  /** Attempt of the current phase, from 1 (retries of retryable failures). */
  'attempt',
  /** The slot being written or booted. */
  'slot',
] as const;
export type OtaStatusDetailKey = (typeof OTA_STATUS_DETAIL_KEYS)[number];

export interface OtaStatusDetails {
  readonly phase?: OtaPhase;
  readonly progress?: number;
  readonly bytesDownloaded?: number;
  readonly bytesTotal?: number;
  readonly reasonCode?: OtaReasonCode;
  readonly reason?: string;
  readonly fromVersion?: string;
  readonly toVersion?: string;
  readonly attempt?: number;
  readonly slot?: Slot;
}

/** Decimal integers as AWS's string values carry them; 15 digits stay exact in a double. */
const Count = Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$' });
const COUNT_KEYS = ['bytesDownloaded', 'bytesTotal', 'attempt'] as const;

/** The values of the OTA keys; other keys (another tool's) are left alone. */
export const OtaStatusDetailsWireSchema = Type.Object(
  {
    phase: Type.Optional(OtaPhaseSchema),
    progress: Type.Optional(Type.String({ pattern: '^(100|[1-9]?[0-9])$' })),
    bytesDownloaded: Type.Optional(Count),
    bytesTotal: Type.Optional(Count),
    reasonCode: Type.Optional(OtaReasonCodeSchema),
    reason: Type.Optional(OtaTextSchema),
    fromVersion: Type.Optional(SemVerSchema),
    toVersion: Type.Optional(SemVerSchema),
    attempt: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,14}$' })),
    slot: Type.Optional(SlotSchema),
  },
  { additionalProperties: true },
);
type OtaStatusDetailsWire = Static<typeof OtaStatusDetailsWireSchema>;

const awsValidator = compileValidator(StatusDetailsSchema);
const otaValidator = compileTaggedValidator(OtaStatusDetailsWireSchema);
const WHAT = 'OTA statusDetails';

/** statusDetails of a job execution, as the fleet service reads them: missing keys are fine, wrong values are not. */
export function parseOtaStatusDetails(details: unknown): Result<OtaStatusDetails, OtaPayloadError> {
  const aws = awsValidator.validate(details);
  if (!aws.ok) return err(fieldsError(WHAT, aws.error));
  const checked = otaValidator.validate(aws.value);
  if (!checked.ok) return err(fieldsError(WHAT, checked.error));
  const w: OtaStatusDetailsWire = checked.value;
  const out: Record<string, string | number> = {};
  for (const key of OTA_STATUS_DETAIL_KEYS) {
    const value = w[key];
    if (value === undefined) continue;
    out[key] = key === 'progress' || (COUNT_KEYS as readonly string[]).includes(key) ? Number(value) : value;
  }
  const parsed = out as OtaStatusDetails;
  if (
    parsed.bytesDownloaded !== undefined &&
    parsed.bytesTotal !== undefined &&
    parsed.bytesDownloaded > parsed.bytesTotal
  ) {
    return err(fieldsError(WHAT, [{ path: '/bytesDownloaded', message: 'must not exceed bytesTotal' }]));
  }
  return ok(parsed);
}

/**
 * The statusDetails map of one job execution update. `progress` is floored and clamped to 0–100 (it is derived
 * from byte counts); `reason` is made valid text and shortened to the limit (toOtaText). Anything else out of
 * range is a programming error and throws a RangeError, so a bad map never reaches AWS.
 */
export function otaStatusDetails(details: OtaStatusDetails & { readonly phase: OtaPhase }): StatusDetails {
  const out: Record<string, string> = {};
  for (const key of OTA_STATUS_DETAIL_KEYS) {
    const value = details[key];
    if (value === undefined) continue;
    if (key === 'progress') {
      out[key] = String(Math.min(100, Math.max(0, Math.floor(value as number))));
    } else if (key === 'reason') {
      const text = toOtaText(value as string);
      if (text !== undefined) out[key] = text;
    } else {
      out[key] = String(value);
    }
  }
  const parsed = parseOtaStatusDetails(out);
  if (!parsed.ok) throw new RangeError(`otaStatusDetails: ${parsed.error.message}`);
  return out;
}

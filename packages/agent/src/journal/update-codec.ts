import { Type } from '@sinclair/typebox';
import {
  compileValidator,
  describeIssues,
  err,
  isOtaReasonCode,
  ok,
  parseOtaJobDocument,
  type Result,
} from '@otafleet/protocol';
import { updateStateName, UPDATE_STATES } from '../update/states.js';
import type { UpdateRecord } from '../update/record.js';

/**
 * How an UpdateRecord is stored: JSON with the state as its stable number, under a schema version. A row of
 * another version, or one that does not decode, is corrupt: the agent never acts on it.
 */
export const UPDATE_RECORD_SCHEMA_VERSION = 1;

const Slot = Type.Union([Type.Literal('A'), Type.Literal('B')]);
const Count = Type.Integer({ minimum: 0 });
const StoredSchema = Type.Object(
  {
    jobId: Type.String({ minLength: 1, maxLength: 64 }),
    executionNumber: Type.Integer({ minimum: 1 }),
    state: Type.Integer({ minimum: 1 }),
    saves: Count,
    starts: Count,
    document: Type.Unknown(),
    attempt: Type.Integer({ minimum: 1 }),
    acceptedAt: Count,
    fromSlot: Slot,
    fromVersion: Type.Optional(Type.String()),
    targetSlot: Type.Optional(Slot),
    toVersion: Type.Optional(Type.String()),
    bundlePath: Type.Optional(Type.String()),
    manifestSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    deadlineAt: Type.Optional(Count),
    switchedAt: Type.Optional(Count),
    verdict: Type.Optional(Type.Object({ reasonCode: Type.String(), reason: Type.String() })),
  },
  { additionalProperties: false },
);
const validator = compileValidator(StoredSchema);

export function encodeUpdateRecord(record: UpdateRecord): string {
  return JSON.stringify({ ...record, state: UPDATE_STATES[record.state] });
}

export function decodeUpdateRecord(schemaVersion: number, body: string): Result<UpdateRecord, string> {
  if (schemaVersion !== UPDATE_RECORD_SCHEMA_VERSION) {
    return err(`update record schema version ${schemaVersion}, this agent reads ${UPDATE_RECORD_SCHEMA_VERSION}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    return err(`update record is not JSON: ${(e as Error).message}`);
  }
  const checked = validator.validate(json);
  if (!checked.ok) return err(`update record: ${describeIssues(checked.error)}`);
  const stored = checked.value;
  const state = updateStateName(stored.state);
  if (state === undefined || state === 'Done') return err(`update record: unknown state number ${stored.state}`);
  const document = parseOtaJobDocument(stored.document);
  if (!document.ok) return err(`update record: ${document.error.message}`);
  const { verdict } = stored;
  if (verdict !== undefined && !isOtaReasonCode(verdict.reasonCode)) {
    return err(`update record: unknown reason code ${verdict.reasonCode}`);
  }
  return ok({
    ...stored,
    state,
    document: document.value,
    ...(verdict === undefined ? {} : { verdict: { reasonCode: verdict.reasonCode, reason: verdict.reason } }),
  } as UpdateRecord);
}

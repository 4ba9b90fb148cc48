import { Type, type Static } from '@sinclair/typebox';
import type { SchemaIssue } from '../schema.js';
import { EpochMillisSchema, JobIdSchema, OpaqueIdSchema, OtaTextSchema, SemVerSchema } from './fields.js';
import { OTA_JOB_OPERATIONS, OtaComponentSchema } from './job-document.js';
import { OtaReasonCodeSchema, otaReasonInfo, type OtaReasonInfo } from './reason-codes.js';

/**
 * How the device's last OTA job ended, as the health report and the shadow carry it.
 * succeeded: the target release is committed (an install, or an operator rollback: reasonCode ROLLED_BACK).
 * downloaded: a download-only job staged the bundle. rejected: declined without touching a slot.
 * failed: ended on the release it started from, or a rollback could not complete. rolled-back: switched, then
 * went back by itself. canceled: the job was canceled.
 */
export const OTA_UPDATE_RESULTS = ['succeeded', 'downloaded', 'rejected', 'failed', 'rolled-back', 'canceled'] as const;
export type OtaUpdateResult = (typeof OTA_UPDATE_RESULTS)[number];

export const LastUpdateSchema = Type.Object(
  {
    jobId: JobIdSchema,
    operation: Type.Union(OTA_JOB_OPERATIONS.map((o) => Type.Literal(o))),
    component: OtaComponentSchema,
    result: Type.Union(OTA_UPDATE_RESULTS.map((r) => Type.Literal(r))),
    reasonCode: Type.Optional(OtaReasonCodeSchema),
    reason: Type.Optional(OtaTextSchema),
    fromVersion: Type.Optional(SemVerSchema),
    toVersion: Type.Optional(SemVerSchema),
    rolloutId: Type.Optional(OpaqueIdSchema),
    waveId: Type.Optional(OpaqueIdSchema),
    /** When the job ended, device clock, epoch milliseconds. */
    at: EpochMillisSchema,
  },
  { additionalProperties: false },
);
export type LastUpdate = Static<typeof LastUpdateSchema>;

/** The execution statuses whose reason codes fit each result; results marked `true` need a code. */
const RESULT_RULES: Readonly<Record<OtaUpdateResult, readonly [boolean, ...OtaReasonInfo['executionStatus'][]]>> = {
  succeeded: [false, 'SUCCEEDED'],
  downloaded: [false, 'SUCCEEDED'],
  rejected: [true, 'REJECTED'],
  failed: [true, 'FAILED', 'TIMED_OUT'],
  'rolled-back': [true, 'FAILED', 'TIMED_OUT'],
  canceled: [false, 'CANCELED'],
};

/** A result and its reason code must agree: a failure names a failure code, a success none or ROLLED_BACK. */
export function lastUpdateIssues(update: LastUpdate, at: string): SchemaIssue[] {
  const [needsCode, ...statuses] = RESULT_RULES[update.result];
  if (update.reasonCode === undefined) {
    return needsCode ? [{ path: `${at}/reasonCode`, message: `is required when result is ${update.result}` }] : [];
  }
  const { executionStatus } = otaReasonInfo(update.reasonCode);
  if (statuses.includes(executionStatus)) return [];
  return [
    {
      path: `${at}/reasonCode`,
      message: `${update.reasonCode} (${executionStatus}) does not fit result ${update.result}`,
    },
  ];
}

import { Type, type Static } from '@sinclair/typebox';
import { err, ok, type Result } from '../result.js';
import type { SchemaIssue } from '../schema.js';
import {
  BootIdSchema,
  CounterSchema,
  EpochMillisSchema,
  HardwareTypeSchema,
  JobIdSchema,
  OpaqueIdSchema,
  SemVerSchema,
  SlotSchema,
  ThingNameSchema,
} from './fields.js';
import { HealthReportV1Schema, type HealthReportV1 } from './health-report-v1.js';
import { HealthCheckResultV2Schema, HealthStatusSchema } from './health-status.js';
import { OTA_JOB_OPERATIONS } from './job-document.js';
import { LastUpdateSchema, lastUpdateIssues } from './last-update.js';
import { decodeOtaPayload, fieldsError, newerSchemaVersion, type OtaPayloadError } from './payload.js';
import { OtaPhaseSchema } from './phases.js';
import { compileTaggedValidator, TaggedUnion } from './tagged-union.js';

/**
 * The periodic health report a device publishes on `dt/{thing}/health`, version 2. A boot is one boot of the
 * device (the kernel's boot id where readable): `bootCount` and `previousBootId` are persisted (journaled) before
 * the boot's first report; `sequence` counts this boot's reports from 0 and is journaled, so an agent restart within
 * the boot continues it. Counters and uptime count since the agent process started, so the fleet service gets rates
 * (crashes per hour of uptime, errors per request) comparable between updated and baseline devices.
 */
export const HEALTH_REPORT_SCHEMA_VERSION = 2;
export const HEALTH_REPORT_MAX_BYTES = 8 * 1024;

const strict = { additionalProperties: false } as const;

export const HealthCountersSchema = Type.Object(
  {
    /** Restarts of the supervised application process. */
    processRestarts: CounterSchema,
    /** Abnormal exits (signal or non-zero status) of the application. */
    crashes: CounterSchema,
    /** Errors the application or the agent logged or answered (e.g. HTTP 5xx). */
    errors: CounterSchema,
    /** Requests the application served; the denominator of the error rate. */
    requests: CounterSchema,
  },
  strict,
);
export type HealthCounters = Static<typeof HealthCountersSchema>;

export const HealthReportV2Schema = Type.Object(
  {
    schemaVersion: Type.Literal(HEALTH_REPORT_SCHEMA_VERSION),
    thingName: ThingNameSchema,
    bootId: BootIdSchema,
    /** The boot before this one; absent on the first boot the agent's journal remembers. */
    previousBootId: Type.Optional(BootIdSchema),
    bootCount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    sequence: CounterSchema,
    /** Device clock, epoch milliseconds: for display and for ordering only when nothing better exists. */
    timestamp: EpochMillisSchema,
    agentVersion: SemVerSchema,
    /** The version of the release in the active slot. */
    firmwareVersion: SemVerSchema,
    /** The release the last update replaced (in the other slot, unless it was overwritten since). */
    previousFirmwareVersion: Type.Optional(SemVerSchema),
    hardwareType: HardwareTypeSchema,
    activeSlot: SlotSchema,
    status: HealthStatusSchema,
    uptimeSeconds: CounterSchema,
    counters: HealthCountersSchema,
    /** Rollbacks over the device's life, automatic and operator ones. */
    rollbackCount: CounterSchema,
    lastUpdate: Type.Optional(LastUpdateSchema),
    checks: Type.Array(HealthCheckResultV2Schema, { maxItems: 16 }),
    /** The OTA job in progress, if any. */
    ota: Type.Optional(
      Type.Object(
        {
          jobId: JobIdSchema,
          operation: Type.Union(OTA_JOB_OPERATIONS.map((o) => Type.Literal(o))),
          phase: OtaPhaseSchema,
          progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
          rolloutId: Type.Optional(OpaqueIdSchema),
          waveId: Type.Optional(OpaqueIdSchema),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type HealthReportV2 = Static<typeof HealthReportV2Schema>;

/** Any health report on the wire; `schemaVersion` tells them apart. */
export const HealthReportSchema = TaggedUnion('schemaVersion', [HealthReportV1Schema, HealthReportV2Schema]);
export type HealthReport = HealthReportV1 | HealthReportV2;
export const healthReportValidator = compileTaggedValidator(HealthReportSchema);

const WHAT = 'health report';

function ruleIssues(report: HealthReport, topicThingName: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (report.thingName !== topicThingName) {
    issues.push({ path: '/thingName', message: `must equal the topic's thing name ${topicThingName}` });
  }
  if (report.schemaVersion === 2 && report.lastUpdate !== undefined) {
    issues.push(...lastUpdateIssues(report.lastUpdate, '/lastUpdate'));
  }
  return issues;
}

/** A health report as received on `dt/{thing}/health`; the topic's thing must match the payload's. */
export function parseHealthReport(
  payload: Uint8Array | string,
  topicThingName: string,
): Result<HealthReport, OtaPayloadError> {
  const decoded = decodeOtaPayload(payload, HEALTH_REPORT_MAX_BYTES, WHAT);
  if (!decoded.ok) return decoded;
  const newer = newerSchemaVersion(WHAT, decoded.value, HEALTH_REPORT_SCHEMA_VERSION);
  if (newer !== undefined) return err(newer);
  const checked = healthReportValidator.validate(decoded.value);
  if (!checked.ok) return err(fieldsError(WHAT, checked.error));
  const issues = ruleIssues(checked.value, topicThingName);
  return issues.length > 0 ? err(fieldsError(WHAT, issues)) : ok(checked.value);
}

/** The payload the agent publishes: checked exactly as the fleet service will parse it, size included. */
export function encodeHealthReport(report: HealthReportV2): Result<string, OtaPayloadError> {
  const text = JSON.stringify(report);
  const parsed = parseHealthReport(text, report.thingName);
  return parsed.ok ? ok(text) : parsed;
}

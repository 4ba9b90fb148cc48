import { Type, type Static } from '@sinclair/typebox';
import { TELEMETRY_PREFIX } from '../mqtt/thing-namespace.js';
import { isValidThingName } from '../names.js';
import { compileValidator } from '../schema.js';

/** A device may publish only under its own telemetry prefix `dt/{thingName}/` (see mqtt/thing-namespace.ts). */

export const telemetryTopicFilter = (thingName: string): string => `${TELEMETRY_PREFIX}/${thingName}/#`;
export const healthReportTopic = (thingName: string): string => `${TELEMETRY_PREFIX}/${thingName}/health`;
/** Shared subscription for fleet-service instances (MQTT 5 `$share`), so each report is handled once. */
export const HEALTH_REPORT_SHARED_FILTER = `$share/fleet-service/${TELEMETRY_PREFIX}/+/health`;

/** Parses `dt/{thing}/health`; undefined for any other topic. */
export function parseHealthReportTopic(topic: string): { thingName: string } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TELEMETRY_PREFIX || parts[2] !== 'health') return undefined;
  const thingName = parts[1];
  if (thingName === undefined || !isValidThingName(thingName)) return undefined;
  return { thingName };
}

export const HealthStatusSchema = Type.Union([
  Type.Literal('healthy'),
  Type.Literal('degraded'),
  Type.Literal('unhealthy'),
]);
export type HealthStatus = Static<typeof HealthStatusSchema>;

export const HealthCheckResultSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    status: HealthStatusSchema,
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const OtaPhaseSchema = Type.Union([
  Type.Literal('idle'),
  Type.Literal('downloading'),
  Type.Literal('verifying'),
  Type.Literal('installing'),
  Type.Literal('rebooting'),
  Type.Literal('health-checking'),
  Type.Literal('committed'),
  Type.Literal('rolled-back'),
  Type.Literal('failed'),
]);
export type OtaPhase = Static<typeof OtaPhaseSchema>;

export const HealthReportSchema = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    thingName: Type.String({ minLength: 1, maxLength: 128 }),
    /** Milliseconds since the epoch, device clock. */
    timestamp: Type.Integer({ minimum: 0 }),
    /** Per-boot monotonically increasing sequence, so the fleet service can drop duplicates and reorders. */
    sequence: Type.Integer({ minimum: 0 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
    firmwareVersion: Type.String({ minLength: 1, maxLength: 128 }),
    activeSlot: Type.Union([Type.Literal('A'), Type.Literal('B')]),
    status: HealthStatusSchema,
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    checks: Type.Array(HealthCheckResultSchema, { maxItems: 32 }),
    ota: Type.Optional(
      Type.Object(
        {
          jobId: Type.String({ minLength: 1, maxLength: 64 }),
          phase: OtaPhaseSchema,
          /** Why the last update failed or rolled back, in words an operator can act on. */
          reason: Type.Optional(Type.String({ maxLength: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type HealthReport = Static<typeof HealthReportSchema>;
export const healthReportValidator = compileValidator(HealthReportSchema);
export const HEALTH_REPORT_MAX_BYTES = 8 * 1024;

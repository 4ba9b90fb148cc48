import { Type, type Static } from '@sinclair/typebox';
import { JobIdSchema, SlotSchema, ThingNameSchema } from './fields.js';
import { HealthCheckResultSchema, HealthStatusSchema } from './health-status.js';

/** The OTA phases version 1 reports knew; version 2 reports use OTA_PHASES. */
export const OtaPhaseV1Schema = Type.Union([
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
export type OtaPhaseV1 = Static<typeof OtaPhaseV1Schema>;

/** Version 1 of the health report: still accepted, told apart by `schemaVersion`. */
export const HealthReportV1Schema = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    thingName: ThingNameSchema,
    /** Milliseconds since the epoch, device clock. */
    timestamp: Type.Integer({ minimum: 0 }),
    /** Per-boot monotonically increasing sequence (the boot itself is not identified: see version 2). */
    sequence: Type.Integer({ minimum: 0 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
    firmwareVersion: Type.String({ minLength: 1, maxLength: 128 }),
    activeSlot: SlotSchema,
    status: HealthStatusSchema,
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    checks: Type.Array(HealthCheckResultSchema, { maxItems: 32 }),
    ota: Type.Optional(
      Type.Object(
        {
          jobId: JobIdSchema,
          phase: OtaPhaseV1Schema,
          /** Why the last update failed or rolled back, in words an operator can act on. */
          reason: Type.Optional(Type.String({ maxLength: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type HealthReportV1 = Static<typeof HealthReportV1Schema>;

import { Type, type Static } from '@sinclair/typebox';
import { otaText } from './fields.js';

/** The health vocabulary both versions of the health report use. */
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
export type HealthCheckResult = Static<typeof HealthCheckResultSchema>;
/** Version 2 keeps details short and plain (OTA text): a report at every limit fits its 8 KB when written in ASCII. */
export const HealthCheckResultV2Schema = Type.Object(
  { name: otaText(64), status: HealthStatusSchema, detail: Type.Optional(otaText(200)) },
  { additionalProperties: false },
);

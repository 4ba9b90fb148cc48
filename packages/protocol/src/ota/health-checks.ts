import { Type, type Static } from '@sinclair/typebox';
import { LoopbackHttpUrlSchema } from './fields.js';
import { TaggedUnion } from './tagged-union.js';

/**
 * How the agent decides that an updated component is healthy, after the switch. Every round runs all checks;
 * `requiredPasses` consecutive all-passing rounds, `intervalSeconds` apart, commit the update; not there by
 * `deadlineSeconds` after the switch means roll back (when the rollback policy is automatic).
 */
const strict = { additionalProperties: false } as const;
const AbsolutePath = Type.String({ minLength: 2, maxLength: 1024, pattern: '^/[^\\u0000]*$' });

/**
 * The URL answers with `expectStatus` (default: any 2xx), and a body containing `expectBody` when given (the first
 * 64 KiB are read), within `timeoutSeconds` (default 5).
 */
export const HTTP_HEALTH_CHECK_BODY_BYTES = 64 * 1024;
export const HttpHealthCheckSchema = Type.Object(
  {
    kind: Type.Literal('http'),
    url: LoopbackHttpUrlSchema,
    expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    expectBody: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 })),
  },
  strict,
);

/** The program exits 0 within `timeoutSeconds`. Run directly (no shell); `argv[0]` is an absolute path. */
export const CommandHealthCheckSchema = Type.Object(
  {
    kind: Type.Literal('command'),
    argv: Type.Array(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000]*$' }), {
      minItems: 1,
      maxItems: 32,
    }),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
  },
  strict,
);

/**
 * A process is alive: found by `name` (the process name, as in /proc/PID/comm), by the PID in `pidFile`, or,
 * with neither, the updated component's own process (the application the agent runs, or the agent itself).
 * At most one of name and pidFile.
 */
export const ProcessHealthCheckSchema = Type.Object(
  {
    kind: Type.Literal('process'),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^/\\u0000]+$' })),
    pidFile: Type.Optional(AbsolutePath),
  },
  strict,
);

/** The agent is connected to its broker and its shadow is in sync (reported state accepted). */
export const MqttHealthCheckSchema = Type.Object({ kind: Type.Literal('mqtt') }, strict);

export const HealthCheckSpecSchema = TaggedUnion('kind', [
  HttpHealthCheckSchema,
  CommandHealthCheckSchema,
  ProcessHealthCheckSchema,
  MqttHealthCheckSchema,
]);
export type HealthCheckSpec = Static<typeof HealthCheckSpecSchema>;
export type HealthCheckKind = HealthCheckSpec['kind'];

export const HealthChecksSchema = Type.Object(
  {
    /** From the switch: not healthy by then means the update failed. */
    deadlineSeconds: Type.Integer({ minimum: 5, maximum: 86_400 }),
    /** Consecutive passing rounds needed to commit. */
    requiredPasses: Type.Integer({ minimum: 1, maximum: 100 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
    checks: Type.Array(HealthCheckSpecSchema, { minItems: 1, maxItems: 8 }),
  },
  strict,
);
export type HealthChecks = Static<typeof HealthChecksSchema>;

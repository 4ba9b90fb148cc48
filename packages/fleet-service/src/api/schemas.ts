import { Type, type Static } from '@sinclair/typebox';
import { GateConfigSchema } from '../rollout/health-gate.js';
import { OPERATOR_ACTIONS, ROLLOUT_STATUSES } from '../rollout/states.js';
import { MaintenanceSchema } from '../rollout/maintenance-windows.js';
import { RolloutRateSchema } from '../rollout/rollout-rate.js';
import { MAX_WAVES, WaveSpecSchema } from '../rollout/wave-plan.js';

const strict = { additionalProperties: false } as const;
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** Rollout ids become part of AWS IoT job ids and thing-group names (`ota-<id>-w<n>`, 64 characters at most). */
export const RolloutIdSchema = Type.String({ pattern: '^[a-zA-Z0-9_-]{1,40}$' });
const GroupName = Type.String({ pattern: '^[a-zA-Z0-9:_-]{1,128}$' });

export const CreateRolloutBodySchema = Type.Object(
  {
    id: Type.Optional(RolloutIdSchema),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    bundleId: Sha256,
    target: Type.Union([
      Type.Object({ kind: Type.Literal('group'), groupName: GroupName }, strict),
      Type.Object({ kind: Type.Literal('query'), queryString: Type.String({ minLength: 1, maxLength: 1024 }) }, strict),
    ]),
    waves: Type.Array(WaveSpecSchema, { minItems: 1, maxItems: MAX_WAVES }),
    seed: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    gate: Type.Optional(Type.Partial(GateConfigSchema, strict)),
    onBreach: Type.Union([Type.Literal('pause'), Type.Literal('abort'), Type.Literal('rollback')]),
    soakSeconds: Type.Integer({ minimum: 0, maximum: 7 * 86_400 }),
    waveTimeoutSeconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400 }),
    startAt: Type.Optional(Type.String({ format: 'date-time' })),
    maxPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maintenance: Type.Optional(MaintenanceSchema),
    rate: Type.Optional(RolloutRateSchema),
  },
  strict,
);
export type CreateRolloutBody = Static<typeof CreateRolloutBodySchema>;

export const RolloutParamsSchema = Type.Object({ id: RolloutIdSchema }, strict);
export const BundleParamsSchema = Type.Object({ sha256: Sha256 }, strict);
export const ListRolloutsQuerySchema = Type.Object(
  { status: Type.Optional(Type.Union(ROLLOUT_STATUSES.map((s) => Type.Literal(s)))) },
  strict,
);
export const ActionParamsSchema = Type.Object(
  { id: RolloutIdSchema, action: Type.Union(OPERATOR_ACTIONS.map((a) => Type.Literal(a))) },
  strict,
);
export const ActionBodySchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  strict,
);
export const ThingParamsSchema = Type.Object({ thingName: GroupName }, strict);
export const DeadLetterQuerySchema = Type.Object(
  {
    afterId: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  strict,
);

export const ErrorBodySchema = Type.Object({ code: Type.String(), message: Type.String() });

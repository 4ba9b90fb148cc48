import { Type, type Static } from '@sinclair/typebox';
import type { Result } from '../result.js';
import type { SchemaIssue } from '../schema.js';
import { OtaTextSchema } from './fields.js';
import { parseOtaPayload, type OtaPayloadError } from './payload.js';
import { OTA_SHADOW_BUDGETS } from './shadow-sections.js';
import { compileTaggedValidator } from './tagged-union.js';

/**
 * The named shadow that carries remote configuration. The operator (through the fleet service) writes
 * `desired` whole, bumping `version`; the agent applies all of it or none, and answers in `reported` with the
 * version it answers and the outcome. The agent reads `desired` whole and compares versions; it does not rely
 * on `/delta`, which always lists the whole configuration because `reported` does not mirror it (mirroring
 * would spend the 8 KB twice).
 */
export const OTA_CONFIG_SHADOW_NAME = 'ota-config';

const strict = { additionalProperties: false } as const;
const ConfigKey = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' });
const ConfigVersion = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const AGENT_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const ConfigDesiredSchema = Type.Object(
  {
    version: ConfigVersion,
    /** The application's configuration, handed to it as is. */
    settings: Type.Record(ConfigKey, Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), {
      maxProperties: 128,
      additionalProperties: false,
    }),
    featureFlags: Type.Record(ConfigKey, Type.Boolean(), { maxProperties: 128, additionalProperties: false }),
    /** The agent's own settings. */
    agent: Type.Optional(
      Type.Object(
        {
          healthReportIntervalSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
          logLevel: Type.Optional(Type.Union(AGENT_LOG_LEVELS.map((l) => Type.Literal(l)))),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type ConfigDesired = Static<typeof ConfigDesiredSchema>;

export const ConfigReportedSchema = Type.Object(
  {
    /** The desired version this answers. */
    version: ConfigVersion,
    status: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]),
    /** The version in effect: `version` when applied; the one kept (0: none yet) when rejected. */
    appliedVersion: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Why it was rejected. */
    error: Type.Optional(OtaTextSchema),
  },
  strict,
);
export type ConfigReported = Static<typeof ConfigReportedSchema>;

const desiredValidator = compileTaggedValidator(ConfigDesiredSchema);
const reportedValidator = compileTaggedValidator(ConfigReportedSchema);

function reportedIssues(r: ConfigReported): SchemaIssue[] {
  if (r.status === 'applied') {
    if (r.appliedVersion !== r.version)
      return [{ path: '/appliedVersion', message: 'must equal version when applied' }];
    if (r.error !== undefined) return [{ path: '/error', message: 'must be absent when applied' }];
    return [];
  }
  if (r.error === undefined) return [{ path: '/error', message: 'is required when rejected' }];
  if (r.appliedVersion >= r.version) {
    return [{ path: '/appliedVersion', message: 'must be below version when rejected' }];
  }
  return [];
}

/** The config shadow's `state.desired`, within its byte budget. */
export const parseConfigDesired = (section: unknown): Result<ConfigDesired, OtaPayloadError> =>
  parseOtaPayload(section, OTA_SHADOW_BUDGETS['config-desired'], 'config desired state', (v) =>
    desiredValidator.validate(v),
  );

/** The config shadow's `state.reported`, within its byte budget. */
export const parseConfigReported = (section: unknown): Result<ConfigReported, OtaPayloadError> =>
  parseOtaPayload(
    section,
    OTA_SHADOW_BUDGETS['config-reported'],
    'config reported state',
    (v) => reportedValidator.validate(v),
    reportedIssues,
  );

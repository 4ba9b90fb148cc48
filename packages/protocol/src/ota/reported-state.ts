import { Type, type Static } from '@sinclair/typebox';
import type { Result } from '../result.js';
import type { SchemaIssue } from '../schema.js';
import {
  BootIdSchema,
  BundleNameSchema,
  CounterSchema,
  HardwareTypeSchema,
  SecurityVersionSchema,
  SemVerSchema,
  SlotSchema,
} from './fields.js';
import { LastUpdateSchema, lastUpdateIssues } from './last-update.js';
import { parseOtaPayload, type OtaPayloadError } from './payload.js';
import { OTA_SHADOW_BUDGETS } from './shadow-sections.js';
import { compileTaggedValidator } from './tagged-union.js';

/**
 * What the device reports in its classic shadow (`state.reported`): what it runs, what the other slot holds,
 * how its last update ended. The agent owns the whole section and writes it with `shadowReplacement`, so no
 * key outlives the state it described. The remote configuration has its own named shadow (config-shadow.ts),
 * acknowledged there, next to the desired version it answers.
 */
export const REPORTED_STATE_SCHEMA_VERSION = 1;
const strict = { additionalProperties: false } as const;

/** The release in a slot; securityVersion tells the fleet which bundles the device's anti-rollback will refuse. */
export const SlotContentSchema = Type.Object(
  { name: BundleNameSchema, version: SemVerSchema, securityVersion: SecurityVersionSchema },
  strict,
);
export type SlotContent = Static<typeof SlotContentSchema>;

export const ReportedStateSchema = Type.Object(
  {
    schemaVersion: Type.Literal(REPORTED_STATE_SCHEMA_VERSION),
    /** The version of the release in the active slot. */
    firmwareVersion: SemVerSchema,
    agentVersion: SemVerSchema,
    hardwareType: HardwareTypeSchema,
    activeSlot: SlotSchema,
    /** An empty slot is absent (a new device, before its first update). */
    slots: Type.Object({ A: Type.Optional(SlotContentSchema), B: Type.Optional(SlotContentSchema) }, strict),
    rollbackCount: CounterSchema,
    bootId: BootIdSchema,
    bootCount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    lastUpdate: Type.Optional(LastUpdateSchema),
  },
  strict,
);
export type ReportedState = Static<typeof ReportedStateSchema>;

const validator = compileTaggedValidator(ReportedStateSchema);
const WHAT = 'reported state';

function ruleIssues(state: ReportedState): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const active = state.slots[state.activeSlot];
  if (active === undefined) {
    issues.push({ path: `/slots/${state.activeSlot}`, message: 'the active slot must hold a release' });
  } else if (active.version !== state.firmwareVersion) {
    issues.push({ path: '/firmwareVersion', message: `must equal the active slot's version ${active.version}` });
  }
  if (state.lastUpdate !== undefined) issues.push(...lastUpdateIssues(state.lastUpdate, '/lastUpdate'));
  return issues;
}

/** The classic shadow's `state.reported` (decoded, or bytes); checks its byte budget first. */
export const parseReportedState = (section: unknown): Result<ReportedState, OtaPayloadError> =>
  parseOtaPayload(section, OTA_SHADOW_BUDGETS['reported-state'], WHAT, (v) => validator.validate(v), ruleIssues);

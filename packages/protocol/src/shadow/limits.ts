import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '../schema.js';
import { MAX_CLIENT_TOKEN_BYTES } from '../identifiers.js';

export const ShadowLimitsSchema = Type.Object(
  {
    /** Largest accepted MQTT/HTTP request payload, in bytes (AWS IoT's MQTT message limit is 128 KB). */
    maxPayloadBytes: Type.Integer({ minimum: 1 }),
    /** Largest stored desired + reported, in bytes of their JSON; metadata is not counted. */
    maxStateBytes: Type.Integer({ minimum: 1 }),
    /** Deepest nesting allowed inside `desired` or `reported`, the section object itself counting as level 1. */
    maxDepth: Type.Integer({ minimum: 1 }),
    maxClientTokenBytes: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
/** Device Shadow service limits; every one can be overridden (the local core makes them configurable). */
export type ShadowLimits = Readonly<Static<typeof ShadowLimitsSchema>>;

export const shadowLimitsOverrideValidator = compileValidator(Type.Partial(ShadowLimitsSchema));

// https://docs.aws.amazon.com/iot/latest/developerguide/diagnosing-shadows.html: "The device's shadow supports
// 8 KB of data only ... Only the data for desired and reported state ... counts toward the limit."
export const DEFAULT_SHADOW_LIMITS: ShadowLimits = Object.freeze({
  maxPayloadBytes: 128 * 1024,
  maxStateBytes: 8 * 1024,
  maxDepth: 6,
  maxClientTokenBytes: MAX_CLIENT_TOKEN_BYTES,
});

export function resolveShadowLimits(overrides: Partial<ShadowLimits> = {}): ShadowLimits {
  return Object.freeze({ ...DEFAULT_SHADOW_LIMITS, ...overrides });
}

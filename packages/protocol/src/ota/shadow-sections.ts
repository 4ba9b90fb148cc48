import { isPlainObject } from '../json.js';
import { DEFAULT_SHADOW_LIMITS } from '../shadow/limits.js';
import { jsonBytes } from './payload.js';

/**
 * Byte budgets of the shadow sections OTA writes. AWS counts desired + reported of one shadow toward one 8 KB
 * limit (DEFAULT_SHADOW_LIMITS.maxStateBytes), metadata excluded; each section gets a share so that the sum
 * never exceeds it, whoever writes the other section. Classic shadow: the device's reported state takes half
 * and leaves the rest to a desired section OTA does not use. Config shadow: the device's answer is small and
 * bounded by its schema; the operator's configuration gets everything else.
 */
const STATE_BYTES = DEFAULT_SHADOW_LIMITS.maxStateBytes;
const CONFIG_REPORTED_BYTES = 2 * 1024;

export const OTA_SHADOW_BUDGETS = Object.freeze({
  'reported-state': STATE_BYTES / 2,
  'config-desired': STATE_BYTES - CONFIG_REPORTED_BYTES,
  'config-reported': CONFIG_REPORTED_BYTES,
});
export type OtaShadowSection = keyof typeof OTA_SHADOW_BUDGETS;

export interface SizeCheck {
  readonly ok: boolean;
  /** Bytes of the section's JSON as AWS counts them (UTF-8). */
  readonly bytes: number;
  readonly limit: number;
}

/** Whether a section fits its budget, and by how much. A value with no JSON form never fits. */
export function checkOtaShadowSize(section: OtaShadowSection, value: unknown): SizeCheck {
  const limit = OTA_SHADOW_BUDGETS[section];
  const bytes = jsonBytes(value) ?? Number.POSITIVE_INFINITY;
  return { ok: bytes <= limit, bytes, limit };
}

/**
 * The update section that makes a shadow section hold exactly `next` when it holds `previous`: AWS merges an
 * update into the stored section (objects key by key), so a key that `next` no longer has must be sent as null
 * or it stays forever (a stale `lastUpdate.reason`, a setting an operator removed). Arrays and scalars are
 * replaced whole, as AWS does.
 */
export function shadowReplacement(
  previous: Readonly<Record<string, unknown>> | undefined,
  next: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(previous ?? {})) if (next[key] === undefined) out[key] = null;
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = previous?.[key];
    out[key] = isPlainObject(value) && isPlainObject(before) ? shadowReplacement(before, value) : value;
  }
  return out;
}

import { expect } from 'vitest';
import type { OtaPayloadError, Result } from '@otafleet/protocol';

/**
 * A deep copy of `value` with the member at JSON pointer `pointer` set to `replacement`, or removed when
 * `replacement` is undefined. For tables of "this field, this bad value".
 */
export function withField<T>(value: T, pointer: string, replacement: unknown): unknown {
  const copy = structuredClone(value) as unknown;
  const keys = pointer.split('/').slice(1);
  const last = keys.pop();
  if (last === undefined) throw new Error(`pointer ${pointer} names no member`);
  let target = copy as Record<string, unknown>;
  for (const key of keys) target = target[key] as Record<string, unknown>;
  if (replacement === undefined) delete target[last];
  else target[last] = replacement;
  return copy;
}

/** The error of a result that must have failed. */
export function failure<T>(r: Result<T, OtaPayloadError>): OtaPayloadError {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

/** The error is INVALID_FIELDS and names `path` (the message carries every issue's path). */
export function expectInvalidAt<T>(r: Result<T, OtaPayloadError>, path: string): void {
  const e = failure(r);
  expect(e.code).toBe('INVALID_FIELDS');
  if (e.code !== 'INVALID_FIELDS') return;
  expect(e.issues.map((i) => i.path)).toContain(path);
}

import { err, ok, type Result } from './result.js';

/** Why a payload could not be read as JSON at all (before any schema check). */
export type JsonPayloadError =
  | { readonly kind: 'too-large'; readonly size: number; readonly limit: number }
  | { readonly kind: 'not-utf8' }
  | { readonly kind: 'invalid-json'; readonly detail: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an MQTT/HTTP payload as strict UTF-8 JSON. The size check comes first so an oversized
 * payload is never decoded.
 */
export function parseJsonPayload(payload: Uint8Array | string, maxBytes: number): Result<unknown, JsonPayloadError> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  if (size > maxBytes) return err({ kind: 'too-large', size, limit: maxBytes });
  let text: string;
  if (typeof payload === 'string') {
    text = payload;
  } else {
    try {
      text = strictUtf8.decode(payload);
    } catch {
      return err({ kind: 'not-utf8' });
    }
  }
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (e) {
    return err({ kind: 'invalid-json', detail: e instanceof Error ? e.message : String(e) });
  }
}

/** Depth of nested objects/arrays: a scalar is 0, `{}` is 1, `{"a":{}}` is 2. */
export function jsonDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let max = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    const d = jsonDepth(child);
    if (d > max) max = d;
  }
  return max + 1;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

import { isPlainObject, parseJsonPayload } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { ShadowErrorMessage as M, shadowError, tooDeepMessage, type ShadowError } from './errors.js';
import type { ShadowLimits } from './limits.js';
import type { ShadowClientTokenRequest, ShadowSection, ShadowUpdateRequest } from './schemas.js';

/**
 * Reads a request payload as JSON: 413 when over the payload limit (checked before decoding), 415 when
 * not UTF-8, 400 `Invalid JSON` otherwise.
 */
export function decodeShadowPayload(payload: Uint8Array | string, limits: ShadowLimits): Result<unknown, ShadowError> {
  const parsed = parseJsonPayload(payload, limits.maxPayloadBytes);
  if (parsed.ok) return parsed;
  switch (parsed.error.kind) {
    case 'too-large':
      return err(shadowError(413, M.payloadTooLarge));
    case 'not-utf8':
      return err(shadowError(415, M.unsupportedEncoding));
    case 'invalid-json':
      return err(shadowError(400, M.invalidJson));
  }
}

/** A refused token is still echoed when it is text: AWS's answer carries the clientToken whenever one was sent. */
type TokenCheck =
  { readonly ok: true; readonly clientToken?: string } | { readonly ok: false; readonly clientToken?: string };

function readClientToken(body: Record<string, unknown>, limits: ShadowLimits): TokenCheck {
  if (!Object.hasOwn(body, 'clientToken')) return { ok: true };
  const token = body['clientToken'];
  if (typeof token !== 'string' || token.length === 0) return { ok: false };
  if (Buffer.byteLength(token, 'utf8') > limits.maxClientTokenBytes) return { ok: false, clientToken: token };
  return { ok: true, clientToken: token };
}

/** `/get` and `/delete` bodies: empty, or a JSON object with an optional clientToken. */
export function parseShadowClientTokenRequest(
  payload: Uint8Array | string,
  limits: ShadowLimits,
): Result<ShadowClientTokenRequest, ShadowError> {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size === 0) return ok({});
  const decoded = decodeShadowPayload(payload, limits);
  if (!decoded.ok) return decoded;
  if (!isPlainObject(decoded.value)) return err(shadowError(400, M.invalidJson));
  const token = readClientToken(decoded.value, limits);
  if (!token.ok) return err(shadowError(400, M.invalidClientToken, token.clientToken));
  return ok(token.clientToken === undefined ? {} : { clientToken: token.clientToken });
}

const NULL_IN_ARRAY = -1;

/**
 * Nesting depth of a section (as jsonDepth counts it), or NULL_IN_ARRAY when a null sits anywhere inside an
 * array: both checks in one walk, because every update runs them.
 */
function depthUnlessNullInArray(value: unknown, insideArray: boolean): number {
  if (value === null) return insideArray ? NULL_IN_ARRAY : 0;
  if (typeof value !== 'object') return 0;
  let max = 0;
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) {
      const d = depthUnlessNullInArray(v, true);
      if (d === NULL_IN_ARRAY) return NULL_IN_ARRAY;
      if (d > max) max = d;
    }
  } else {
    const object = value as Record<string, unknown>;
    for (const k of Object.keys(object)) {
      const d = depthUnlessNullInArray(object[k], insideArray);
      if (d === NULL_IN_ARRAY) return NULL_IN_ARRAY;
      if (d > max) max = d;
    }
  }
  return max + 1;
}

function checkSection(
  value: unknown,
  notObjectMessage: string,
  limits: ShadowLimits,
  clientToken: string | undefined,
): Result<ShadowSection | null | undefined, ShadowError> {
  if (value === undefined || value === null) return ok(value);
  if (!isPlainObject(value)) return err(shadowError(400, notObjectMessage, clientToken));
  // "Arrays can't have null values": https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html#device-shadow-arrays
  const depth = depthUnlessNullInArray(value, false);
  if (depth === NULL_IN_ARRAY) return err(shadowError(400, M.invalidNode, clientToken));
  if (depth > limits.maxDepth) return err(shadowError(400, tooDeepMessage(limits.maxDepth), clientToken));
  return ok(value);
}

/** Optional fields are set only when present (exact optional types), without spread copies: a hot path. */
function updateRequest(
  state: ShadowUpdateRequest['state'],
  clientToken: string | undefined,
  version: number | undefined,
): ShadowUpdateRequest {
  const out: { -readonly [K in keyof ShadowUpdateRequest]: ShadowUpdateRequest[K] } = { state };
  if (clientToken !== undefined) out.clientToken = clientToken;
  if (version !== undefined) out.version = version;
  return out;
}

/**
 * Validates an `/update` body with AWS's error for each fault. Fields outside `state`, `clientToken` and
 * `version` are ignored, as AWS ignores them; `state` may hold only `desired` and `reported`.
 */
export function parseShadowUpdateRequest(
  payload: Uint8Array | string,
  limits: ShadowLimits,
): Result<ShadowUpdateRequest, ShadowError> {
  const decoded = decodeShadowPayload(payload, limits);
  if (!decoded.ok) return decoded;
  const body = decoded.value;
  if (!isPlainObject(body)) return err(shadowError(400, M.invalidJson));
  const token = readClientToken(body, limits);
  if (!token.ok) return err(shadowError(400, M.invalidClientToken, token.clientToken));
  const clientToken = token.clientToken;

  let version: number | undefined;
  if (Object.hasOwn(body, 'version')) {
    const v = body['version'];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      return err(shadowError(400, M.invalidVersion, clientToken));
    }
    version = v;
  }

  if (!Object.hasOwn(body, 'state')) return err(shadowError(400, M.missingState, clientToken));
  const state = body['state'];
  if (state === null) return ok(updateRequest(null, clientToken, version));
  if (!isPlainObject(state)) return err(shadowError(400, M.stateNotObject, clientToken));
  if (Object.keys(state).some((k) => k !== 'desired' && k !== 'reported')) {
    return err(shadowError(400, M.invalidNode, clientToken));
  }
  const desired = checkSection(state['desired'], M.desiredNotObject, limits, clientToken);
  if (!desired.ok) return desired;
  const reported = checkSection(state['reported'], M.reportedNotObject, limits, clientToken);
  if (!reported.ok) return reported;
  const sections: { desired?: ShadowSection | null; reported?: ShadowSection | null } = {};
  if (desired.value !== undefined) sections.desired = desired.value;
  if (reported.value !== undefined) sections.reported = reported.value;
  return ok(updateRequest(sections, clientToken, version));
}

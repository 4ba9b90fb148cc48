import { isPlainObject, jsonDepth, parseJsonPayload } from '../json.js';
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

type TokenCheck = { readonly ok: true; readonly clientToken?: string } | { readonly ok: false };

function readClientToken(body: Record<string, unknown>, limits: ShadowLimits): TokenCheck {
  if (!Object.hasOwn(body, 'clientToken')) return { ok: true };
  const token = body['clientToken'];
  if (typeof token !== 'string' || token.length === 0) return { ok: false };
  if (Buffer.byteLength(token, 'utf8') > limits.maxClientTokenBytes) return { ok: false };
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
  if (!token.ok) return err(shadowError(400, M.invalidClientToken));
  return ok(token.clientToken === undefined ? {} : { clientToken: token.clientToken });
}

function containsNullInArray(value: unknown, insideArray: boolean): boolean {
  if (value === null) return insideArray;
  if (Array.isArray(value)) return value.some((v) => containsNullInArray(v, true));
  if (isPlainObject(value)) return Object.values(value).some((v) => containsNullInArray(v, insideArray));
  return false;
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
  if (containsNullInArray(value, false)) return err(shadowError(400, M.invalidNode, clientToken));
  if (jsonDepth(value) > limits.maxDepth) return err(shadowError(400, tooDeepMessage(limits.maxDepth), clientToken));
  return ok(value);
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
  if (!token.ok) return err(shadowError(400, M.invalidClientToken));
  const clientToken = token.clientToken;
  const tokenPart = clientToken === undefined ? {} : { clientToken };

  let versionPart = {};
  if (Object.hasOwn(body, 'version')) {
    const version = body['version'];
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
      return err(shadowError(400, M.invalidVersion, clientToken));
    }
    versionPart = { version };
  }

  if (!Object.hasOwn(body, 'state')) return err(shadowError(400, M.missingState, clientToken));
  const state = body['state'];
  if (state === null) return ok({ state: null, ...tokenPart, ...versionPart });
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
  return ok({ state: sections, ...tokenPart, ...versionPart });
}

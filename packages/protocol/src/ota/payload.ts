import { isPlainObject, parseJsonPayload, type JsonPayloadError } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { describeIssues, type SchemaIssue } from '../schema.js';

/**
 * Why an OTA payload was refused. `UNSUPPORTED_*`: well-formed, but newer than this reader (a newer fleet
 * service or agent wrote it): its sender should be told so, not that it is malformed.
 */
export type OtaPayloadError =
  | { readonly code: 'PAYLOAD_TOO_LARGE'; readonly message: string; readonly bytes: number; readonly limit: number }
  | { readonly code: 'INVALID_JSON'; readonly message: string }
  | {
      readonly code:
        'INVALID_FIELDS' | 'UNSUPPORTED_SCHEMA_VERSION' | 'UNSUPPORTED_OPERATION' | 'UNSUPPORTED_COMPONENT';
      readonly message: string;
      readonly issues: readonly SchemaIssue[];
    };

export type OtaPayloadErrorCode = OtaPayloadError['code'];

/** `what` names the payload in the message, e.g. `invalid OTA job document: /bundle/version: ...`. */
export function fieldsError(
  what: string,
  issues: readonly SchemaIssue[],
  code:
    | 'INVALID_FIELDS'
    | 'UNSUPPORTED_SCHEMA_VERSION'
    | 'UNSUPPORTED_OPERATION'
    | 'UNSUPPORTED_COMPONENT' = 'INVALID_FIELDS',
): OtaPayloadError {
  const prefix = code === 'INVALID_FIELDS' ? 'invalid' : 'unsupported';
  return { code, message: `${prefix} ${what}: ${describeIssues(issues)}`, issues };
}

export function tooLarge(what: string, bytes: number, limit: number): OtaPayloadError {
  return { code: 'PAYLOAD_TOO_LARGE', message: `${what} is ${bytes} bytes; the limit is ${limit}`, bytes, limit };
}

function jsonError(e: JsonPayloadError, what: string): OtaPayloadError {
  switch (e.kind) {
    case 'too-large':
      return tooLarge(what, e.size, e.limit);
    case 'not-utf8':
      return { code: 'INVALID_JSON', message: 'payload is not valid UTF-8' };
    case 'invalid-json':
      return { code: 'INVALID_JSON', message: `payload is not JSON: ${e.detail}` };
  }
}

/** UTF-8 bytes of a value's JSON, as a shadow or a job stores it; undefined when it has no JSON form. */
export function jsonBytes(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? undefined : Buffer.byteLength(text, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Raw bytes or text are size-checked and decoded; an already-decoded value (a job execution's jobDocument, a
 * shadow section) is size-checked by its JSON, so both ways in obey the same limit.
 */
export function decodeOtaPayload(input: unknown, maxBytes: number, what: string): Result<unknown, OtaPayloadError> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const parsed = parseJsonPayload(input, maxBytes);
    return parsed.ok ? parsed : err(jsonError(parsed.error, what));
  }
  const bytes = jsonBytes(input);
  if (bytes === undefined) return err({ code: 'INVALID_JSON', message: `${what} has no JSON form` });
  if (bytes > maxBytes) return err(tooLarge(what, bytes, maxBytes));
  return ok(input);
}

/** Decode within `maxBytes`, check the schema, then the rules a schema cannot state. */
export function parseOtaPayload<T>(
  input: unknown,
  maxBytes: number,
  what: string,
  validate: (value: unknown) => Result<T, readonly SchemaIssue[]>,
  rules: (value: T) => readonly SchemaIssue[] = () => [],
): Result<T, OtaPayloadError> {
  const decoded = decodeOtaPayload(input, maxBytes, what);
  if (!decoded.ok) return decoded;
  const checked = validate(decoded.value);
  if (!checked.ok) return err(fieldsError(what, checked.error));
  const issues = rules(checked.value);
  return issues.length > 0 ? err(fieldsError(what, issues)) : ok(checked.value);
}

/** A payload whose integer `schemaVersion` is above `newest`: written by a newer agent or fleet service. */
export function newerSchemaVersion(what: string, value: unknown, newest: number): OtaPayloadError | undefined {
  const version = isPlainObject(value) ? value.schemaVersion : undefined;
  if (typeof version !== 'number' || !Number.isInteger(version) || version <= newest) return undefined;
  const issue = { path: '/schemaVersion', message: `${version} is newer than ${newest}` };
  return fieldsError(what, [issue], 'UNSUPPORTED_SCHEMA_VERSION');
}

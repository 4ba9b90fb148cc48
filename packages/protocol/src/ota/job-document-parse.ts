import { isPlainObject } from '../json.js';
import { err, ok, type Result } from '../result.js';
import type { SchemaIssue } from '../schema.js';
import type { HealthChecks } from './health-checks.js';
import { OtaJobDocumentV1Schema, upgradeOtaJobDocumentV1 } from './job-document-v1.js';
import {
  JOB_DOCUMENT_MAX_BYTES,
  OTA_COMPONENTS,
  OTA_JOB_DOCUMENT_SCHEMA_VERSION,
  OTA_JOB_OPERATIONS,
  OtaJobDocumentV2Schema,
  type OtaJobDocument,
} from './job-document.js';
import { decodeOtaPayload, fieldsError, newerSchemaVersion, type OtaPayloadError } from './payload.js';
import type { OtaReasonCode } from './reason-codes.js';
import { compileTaggedValidator, TaggedUnion } from './tagged-union.js';
import { isValidVersionRange } from './version-range.js';

/** Every version of the job document on the wire. */
export const OtaJobDocumentWireSchema = TaggedUnion('schemaVersion', [OtaJobDocumentV1Schema, OtaJobDocumentV2Schema]);
export const otaJobDocumentValidator = compileTaggedValidator(OtaJobDocumentWireSchema);

const WHAT = 'OTA job document';

/** A newer writer's document: a schemaVersion, operation or component this reader does not know. */
function unsupported(value: unknown): OtaPayloadError | undefined {
  if (!isPlainObject(value)) return undefined;
  const newer = newerSchemaVersion(WHAT, value, OTA_JOB_DOCUMENT_SCHEMA_VERSION);
  if (newer !== undefined) return newer;
  const { schemaVersion, operation, component } = value;
  if (schemaVersion !== OTA_JOB_DOCUMENT_SCHEMA_VERSION) return undefined;
  if (typeof operation === 'string' && !(OTA_JOB_OPERATIONS as readonly string[]).includes(operation)) {
    const issue = {
      path: '/operation',
      message: `${JSON.stringify(operation)} is not one of ${OTA_JOB_OPERATIONS.join(', ')}`,
    };
    return fieldsError(WHAT, [issue], 'UNSUPPORTED_OPERATION');
  }
  if (typeof component === 'string' && !(OTA_COMPONENTS as readonly string[]).includes(component)) {
    const issue = {
      path: '/component',
      message: `${JSON.stringify(component)} is not one of ${OTA_COMPONENTS.join(', ')}`,
    };
    return fieldsError(WHAT, [issue], 'UNSUPPORTED_COMPONENT');
  }
  return undefined;
}

function healthCheckIssues(h: HealthChecks, at: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if ((h.requiredPasses - 1) * h.intervalSeconds >= h.deadlineSeconds) {
    issues.push({
      path: `${at}/deadlineSeconds`,
      message: `must exceed (requiredPasses - 1) × intervalSeconds = ${(h.requiredPasses - 1) * h.intervalSeconds}, or the checks can never pass in time`,
    });
  }
  h.checks.forEach((c, i) => {
    if (c.kind === 'process' && c.name !== undefined && c.pidFile !== undefined) {
      issues.push({ path: `${at}/checks/${i}`, message: 'name and pidFile are exclusive' });
    }
    if (c.kind === 'command' && !c.argv[0]?.startsWith('/')) {
      issues.push({ path: `${at}/checks/${i}/argv/0`, message: 'must be an absolute path (no PATH lookup, no shell)' });
    }
  });
  return issues;
}

/**
 * The rules a schema cannot state, on the version 2 reading, so version 1 documents obey them too (`at` is
 * where the health check settings are in the document as written).
 */
function ruleIssues(doc: OtaJobDocument, at: string): SchemaIssue[] {
  const issues = healthCheckIssues(doc.healthChecks, at);
  const range = doc.precondition?.installedVersion;
  if (range !== undefined && !isValidVersionRange(range)) {
    issues.push({
      path: '/precondition/installedVersion',
      message: 'must be a version or a version range (e.g. ">=1.0.0 <2.0.0")',
    });
  }
  return issues;
}

/**
 * An OTA job document from a job execution (decoded object) or raw bytes, any version, as version 2.
 * Checks the 32 KB limit either way.
 */
export function parseOtaJobDocument(input: unknown): Result<OtaJobDocument, OtaPayloadError> {
  const decoded = decodeOtaPayload(input, JOB_DOCUMENT_MAX_BYTES, WHAT);
  if (!decoded.ok) return decoded;
  const newer = unsupported(decoded.value);
  if (newer !== undefined) return err(newer);
  const checked = otaJobDocumentValidator.validate(decoded.value);
  if (!checked.ok) return err(fieldsError(WHAT, checked.error));
  const v1 = checked.value.schemaVersion === 1;
  const doc = checked.value.schemaVersion === 1 ? upgradeOtaJobDocumentV1(checked.value) : checked.value;
  const issues = ruleIssues(doc, v1 ? '/healthCheck' : '/healthChecks');
  return issues.length > 0 ? err(fieldsError(WHAT, issues)) : ok(doc);
}

/** The reason code an agent reports for a job document it cannot use. */
export function jobDocumentReasonCode(error: OtaPayloadError): OtaReasonCode {
  switch (error.code) {
    case 'UNSUPPORTED_SCHEMA_VERSION':
    case 'UNSUPPORTED_OPERATION':
    case 'UNSUPPORTED_COMPONENT':
      return error.code;
    case 'PAYLOAD_TOO_LARGE':
    case 'INVALID_JSON':
    case 'INVALID_FIELDS':
      return 'INVALID_JOB_DOCUMENT';
  }
}

import { parseJsonPayload, type JsonPayloadError } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { describeIssues, type SchemaIssue } from '../schema.js';
import { HEALTH_REPORT_MAX_BYTES, healthReportValidator, type HealthReport } from './health-report.js';
import { JOB_DOCUMENT_MAX_BYTES, otaJobDocumentValidator, type OtaJobDocument } from './job-document.js';

export type OtaPayloadError =
  | { readonly code: 'PAYLOAD_TOO_LARGE' | 'INVALID_JSON'; readonly message: string }
  | { readonly code: 'INVALID_FIELDS'; readonly message: string; readonly issues: readonly SchemaIssue[] };

function jsonError(e: JsonPayloadError): OtaPayloadError {
  switch (e.kind) {
    case 'too-large':
      return { code: 'PAYLOAD_TOO_LARGE', message: `payload is ${e.size} bytes; the limit is ${e.limit}` };
    case 'not-utf8':
      return { code: 'INVALID_JSON', message: 'payload is not valid UTF-8' };
    case 'invalid-json':
      return { code: 'INVALID_JSON', message: `payload is not JSON: ${e.detail}` };
  }
}

/** An OTA job document from a Jobs execution (object) or raw bytes. */
export function parseOtaJobDocument(input: unknown): Result<OtaJobDocument, OtaPayloadError> {
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const parsed = parseJsonPayload(input, JOB_DOCUMENT_MAX_BYTES);
    if (!parsed.ok) return err(jsonError(parsed.error));
    value = parsed.value;
  }
  const checked = otaJobDocumentValidator.validate(value);
  if (!checked.ok)
    return err({
      code: 'INVALID_FIELDS',
      message: `invalid OTA job document: ${describeIssues(checked.error)}`,
      issues: checked.error,
    });
  return ok(checked.value);
}

/** A health report as received on `dt/{thing}/health`; the topic's thing must match the payload's. */
export function parseHealthReport(
  payload: Uint8Array | string,
  topicThingName: string,
): Result<HealthReport, OtaPayloadError> {
  const parsed = parseJsonPayload(payload, HEALTH_REPORT_MAX_BYTES);
  if (!parsed.ok) return err(jsonError(parsed.error));
  const checked = healthReportValidator.validate(parsed.value);
  if (!checked.ok)
    return err({
      code: 'INVALID_FIELDS',
      message: `invalid health report: ${describeIssues(checked.error)}`,
      issues: checked.error,
    });
  if (checked.value.thingName !== topicThingName) {
    const issues = [{ path: '/thingName', message: `must equal the topic's thing name ${topicThingName}` }];
    return err({ code: 'INVALID_FIELDS', message: `invalid health report: ${describeIssues(issues)}`, issues });
  }
  return ok(checked.value);
}

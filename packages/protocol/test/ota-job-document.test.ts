import { describe, expect, it } from 'vitest';
import {
  JOB_DOCUMENT_MAX_BYTES,
  parseOtaJobDocument,
  type OtaJobDocument,
  type OtaJobDocumentV1,
} from '@otafleet/protocol';

const valid: OtaJobDocumentV1 = {
  operation: 'ota.install',
  schemaVersion: 1,
  bundle: { name: 'demo-app', version: '1.1.0', securityVersion: 2 },
  download: { url: 'https://bundles.example.test/demo-app-1.1.0.otab', size: 123_456, sha256: 'a'.repeat(64) },
  rollback: { mode: 'automatic', maxBootAttempts: 3 },
  healthCheck: { url: 'http://127.0.0.1:8080/health', requiredPasses: 3, intervalSeconds: 2, deadlineSeconds: 120 },
  rolloutId: 'r-1',
};

/** How version 2 reads `valid`. */
const validAsV2: OtaJobDocument = {
  operation: 'ota.install',
  schemaVersion: 2,
  component: 'application',
  rolloutId: 'r-1',
  bundle: valid.bundle,
  download: valid.download,
  install: { mode: 'immediate' },
  rollback: valid.rollback,
  healthChecks: {
    deadlineSeconds: 120,
    requiredPasses: 3,
    intervalSeconds: 2,
    checks: [{ kind: 'http', url: 'http://127.0.0.1:8080/health' }],
  },
};

describe('OTA job document', () => {
  it('accepts a valid document as object, string and bytes', () => {
    expect(parseOtaJobDocument(valid)).toEqual({ ok: true, value: validAsV2 });
    expect(parseOtaJobDocument(JSON.stringify(valid)).ok).toBe(true);
    expect(parseOtaJobDocument(Buffer.from(JSON.stringify(valid))).ok).toBe(true);
  });

  it('accepts the AWS presigned URL placeholder as the download URL', () => {
    const doc = {
      ...valid,
      download: { ...valid.download, url: '${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/b/k}' },
    };
    expect(parseOtaJobDocument(doc).ok).toBe(true);
  });

  const bad: [string, unknown, string][] = [
    ['wrong operation', { ...valid, operation: 'reboot' }, '/operation'],
    ['unknown schema version', { ...valid, schemaVersion: 0 }, '/schemaVersion'],
    ['non-semver version', { ...valid, bundle: { ...valid.bundle, version: '1.1' } }, '/bundle/version'],
    [
      'negative security version',
      { ...valid, bundle: { ...valid.bundle, securityVersion: -1 } },
      '/bundle/securityVersion',
    ],
    ['uppercase sha256', { ...valid, download: { ...valid.download, sha256: 'A'.repeat(64) } }, '/download/sha256'],
    ['size as string', { ...valid, download: { ...valid.download, size: '12' } }, '/download/size'],
    ['zero size', { ...valid, download: { ...valid.download, size: 0 } }, '/download/size'],
    [
      'remote health URL',
      { ...valid, healthCheck: { ...valid.healthCheck, url: 'http://10.0.0.1/health' } },
      '/healthCheck/url',
    ],
    ['unknown rollback mode', { ...valid, rollback: { mode: 'never', maxBootAttempts: 1 } }, '/rollback/mode'],
    ['extra field', { ...valid, extra: true }, '/extra'],
    ['missing download', { ...valid, download: undefined }, '/download'],
  ];
  it.each(bad)('rejects %s with the offending path', (_name, doc, path) => {
    const r = parseOtaJobDocument(doc);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INVALID_FIELDS');
    expect(r.error.message).toContain(path);
  });

  it('rejects non-JSON, non-UTF-8 and oversized bytes with typed codes', () => {
    const notJson = parseOtaJobDocument('{"operation":');
    expect(notJson.ok ? undefined : notJson.error.code).toBe('INVALID_JSON');
    const notUtf8 = parseOtaJobDocument(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(notUtf8.ok ? undefined : notUtf8.error).toEqual({
      code: 'INVALID_JSON',
      message: 'payload is not valid UTF-8',
    });
    const huge = parseOtaJobDocument(Buffer.alloc(JOB_DOCUMENT_MAX_BYTES + 1, 0x20));
    expect(huge.ok ? undefined : huge.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

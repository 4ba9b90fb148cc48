import { describe, expect, it } from 'vitest';
import {
  JOB_DOCUMENT_MAX_BYTES,
  isPresignedUrlPlaceholder,
  jobDocumentReasonCode,
  parseOtaJobDocument,
  type OtaInstallJobDocument,
  type OtaRollbackJobDocument,
} from '@otafleet/protocol';
import { expectInvalidAt, failure, withField } from './ota-test-helpers.js';

const healthChecks: OtaInstallJobDocument['healthChecks'] = {
  deadlineSeconds: 120,
  requiredPasses: 3,
  intervalSeconds: 5,
  checks: [
    { kind: 'http', url: 'http://127.0.0.1:8080/health', expectStatus: 200, timeoutSeconds: 2 },
    { kind: 'command', argv: ['/usr/bin/test', '-f', '/run/http-service.ready'], timeoutSeconds: 10 },
    { kind: 'process', name: 'http-service' },
    { kind: 'process', pidFile: '/run/http-service.pid' },
    { kind: 'mqtt' },
  ],
};

const install: OtaInstallJobDocument = {
  operation: 'ota.install',
  schemaVersion: 2,
  component: 'application',
  rolloutId: 'r-2026-01',
  waveId: 'w-1',
  precondition: { installedVersion: '>=1.0.0 <1.1.0' },
  bundle: { name: 'http-service', version: '1.1.0', securityVersion: 2 },
  download: {
    url: 'https://bundles.example.test/http-service-1.1.0.otab',
    size: 123_456,
    sha256: 'a'.repeat(64),
    maxBandwidthBytesPerSecond: 1_000_000,
    maxRetries: 5,
  },
  install: { mode: 'window', window: { start: '22:00', durationMinutes: 240 } },
  healthChecks,
  rollback: { mode: 'automatic', maxBootAttempts: 3 },
};

const minimalInstall: OtaInstallJobDocument = {
  operation: 'ota.install',
  schemaVersion: 2,
  component: 'agent',
  bundle: { name: 'ota-agent', version: '0.2.0', securityVersion: 1 },
  download: {
    url: '${aws:iot:s3-presigned-url-v2:https://s3.eu-west-1.amazonaws.com/b/agent-0.2.0.otab}',
    size: 1,
    sha256: 'b'.repeat(64),
  },
  install: { mode: 'immediate' },
  healthChecks: { deadlineSeconds: 60, requiredPasses: 1, intervalSeconds: 1, checks: [{ kind: 'mqtt' }] },
  rollback: { mode: 'automatic', maxBootAttempts: 1 },
};

const rollbackToSlot: OtaRollbackJobDocument = {
  operation: 'ota.rollback',
  schemaVersion: 2,
  component: 'application',
  rolloutId: 'r-2026-01',
  target: { kind: 'previous-slot', expectedVersion: '1.0.0' },
  reason: 'http-service 1.1.0 leaks memory on rpi4 (INC-42)',
  healthChecks,
  rollback: { mode: 'manual', maxBootAttempts: 2 },
};

const rollbackToBundle: OtaRollbackJobDocument = {
  ...rollbackToSlot,
  target: {
    kind: 'bundle',
    bundle: { name: 'http-service', version: '1.0.1', securityVersion: 2 },
    download: { url: 'http://127.0.0.1:9000/bundles/http-service-1.0.1.otab', size: 99, sha256: 'c'.repeat(64) },
    allowDowngrade: true,
  },
};

describe('OTA job document v2: round trips', () => {
  it.each([
    ['install in a window', install],
    ['minimal agent self-update', minimalInstall],
    ['download-only install', { ...install, install: { mode: 'download-only' } }],
    ['rollback to the other slot', rollbackToSlot],
    ['rollback to an older bundle', rollbackToBundle],
  ] as const)('%s: object, text and bytes read back unchanged', (_name, doc) => {
    expect(parseOtaJobDocument(doc)).toEqual({ ok: true, value: doc });
    expect(parseOtaJobDocument(JSON.stringify(doc))).toEqual({ ok: true, value: doc });
    expect(parseOtaJobDocument(new TextEncoder().encode(JSON.stringify(doc)))).toEqual({ ok: true, value: doc });
  });

  it('accepts exact versions and ranges as the installed-version precondition', () => {
    for (const range of ['1.0.0', '=1.0.0', '^1.0.0', '~1.2.3', '>=1.0.0 <2.0.0-rc.1', '<1.0.0 || >=2.0.0 <3.0.0']) {
      expect(parseOtaJobDocument(withField(install, '/precondition/installedVersion', range)).ok).toBe(true);
    }
  });

  it('tells an AWS presigned-URL placeholder from a URL', () => {
    expect(isPresignedUrlPlaceholder(minimalInstall.download.url)).toBe(true);
    expect(isPresignedUrlPlaceholder('${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/b/k}')).toBe(true);
    expect(isPresignedUrlPlaceholder(install.download.url)).toBe(false);
  });
});

describe('OTA job document v2: every invalid field', () => {
  const installCases: [string, unknown, string?][] = [
    ['/operation', 42],
    ['/schemaVersion', '2'],
    ['/component', 7],
    ['/rolloutId', ''],
    ['/waveId', 'w'.repeat(65)],
    ['/precondition', {}, '/precondition/installedVersion'],
    ['/precondition/installedVersion', '1.0'],
    ['/precondition/installedVersion', '>= 1.0.0'],
    ['/precondition/installedVersion', '1.x'],
    ['/precondition/installedVersion', '>=1.0.0 ||'],
    ['/precondition/installedVersion', ''],
    ['/precondition/extra', true],
    ['/bundle', undefined],
    ['/bundle/name', '.hidden'],
    ['/bundle/name', 'two words'],
    ['/bundle/version', '1.1'],
    ['/bundle/securityVersion', -1],
    ['/bundle/securityVersion', 2 ** 31],
    ['/bundle/securityVersion', 1.5],
    ['/bundle/extra', 1],
    ['/download', undefined],
    ['/download/url', 'ftp://bundles.example.test/b.otab'],
    ['/download/url', 'https://has space.test/b'],
    ['/download/url', '${aws:iot:s3-presigned-url:http://s3.example.test/b/k}'],
    ['/download/size', 0],
    ['/download/size', 64 * 1024 ** 3 + 1],
    ['/download/size', '12'],
    ['/download/sha256', 'A'.repeat(64)],
    ['/download/sha256', 'a'.repeat(63)],
    ['/download/maxBandwidthBytesPerSecond', 100],
    ['/download/maxRetries', -1],
    ['/download/maxRetries', 101],
    ['/download/extra', 1],
    ['/install', undefined],
    ['/install/mode', 'later'],
    ['/install/window', undefined],
    ['/install/window/start', '24:00'],
    ['/install/window/start', '7:00'],
    ['/install/window/durationMinutes', 0],
    ['/install/window/durationMinutes', 1431],
    ['/install', { mode: 'immediate', window: { start: '01:00', durationMinutes: 5 } }, '/install/window'],
    ['/healthChecks', undefined],
    ['/healthChecks/deadlineSeconds', 4],
    ['/healthChecks/deadlineSeconds', 86_401],
    ['/healthChecks/requiredPasses', 0],
    ['/healthChecks/intervalSeconds', 301],
    ['/healthChecks/checks', []],
    ['/healthChecks/checks', Array.from({ length: 9 }, () => ({ kind: 'mqtt' }))],
    ['/healthChecks/checks/0/kind', 'ping'],
    ['/healthChecks/checks/0/url', 'http://10.0.0.1:8080/health'],
    ['/healthChecks/checks/0/url', 'https://127.0.0.1/health'],
    ['/healthChecks/checks/0/expectStatus', 99],
    ['/healthChecks/checks/0/expectBody', ''],
    ['/healthChecks/checks/0/expectBody', 'x'.repeat(257)],
    ['/healthChecks/checks/0/timeoutSeconds', 61],
    ['/healthChecks/checks/1/argv', []],
    ['/healthChecks/checks/1/argv/0', 'test'],
    ['/healthChecks/checks/1/argv/1', ''],
    ['/healthChecks/checks/1/timeoutSeconds', undefined],
    ['/healthChecks/checks/2/name', 'usr/bin/x'],
    ['/healthChecks/checks/2/pidFile', '/run/x.pid', '/healthChecks/checks/2'],
    ['/healthChecks/checks/3/pidFile', 'run/x.pid'],
    ['/healthChecks/checks/4/extra', 1],
    ['/healthChecks/extra', 1],
    ['/rollback', undefined],
    ['/rollback/mode', 'never'],
    ['/rollback/maxBootAttempts', 0],
    ['/rollback/maxBootAttempts', 11],
    ['/reason', 'an install has no reason'],
    ['/extra', true],
  ];
  it.each(installCases)('install %s = %j is refused at its path', (pointer, value, path) => {
    expectInvalidAt(parseOtaJobDocument(withField(install, pointer, value)), path ?? pointer);
  });

  const rollbackCases: [string, unknown, string?][] = [
    ['/target', undefined],
    ['/target/kind', 'snapshot'],
    ['/target/expectedVersion', '1'],
    ['/target/extra', 1],
    ['/reason', undefined],
    ['/reason', ''],
    ['/reason', 'x'.repeat(513)],
    ['/reason', 'two\nlines'],
    ['/reason', 'lone \ud800 surrogate'],
    ['/bundle', install.bundle],
    ['/install', install.install],
  ];
  it.each(rollbackCases)('rollback %s = %j is refused at its path', (pointer, value, path) => {
    expectInvalidAt(parseOtaJobDocument(withField(rollbackToSlot, pointer, value)), path ?? pointer);
  });

  it.each([
    ['/target/allowDowngrade', false],
    ['/target/allowDowngrade', undefined],
    ['/target/download', undefined],
    ['/target/bundle/version', 'one'],
  ])('rollback to a bundle %s = %j is refused at its path', (pointer, value) => {
    expectInvalidAt(parseOtaJobDocument(withField(rollbackToBundle, pointer, value)), pointer);
  });

  it('refuses health check settings that can never pass before the deadline', () => {
    const doc = withField(withField(install, '/healthChecks/requiredPasses', 25), '/healthChecks/intervalSeconds', 5);
    expectInvalidAt(parseOtaJobDocument(doc), '/healthChecks/deadlineSeconds');
    // 24 intervals of 5 s = 120 s: the last pass would land exactly on the deadline.
    expect(parseOtaJobDocument(withField(doc, '/healthChecks/deadlineSeconds', 121)).ok).toBe(true);
  });

  it('applies the same rule to version 1 documents, at their own path', () => {
    const v1 = {
      operation: 'ota.install',
      schemaVersion: 1,
      bundle: install.bundle,
      download: { url: 'https://x.test/b', size: 1, sha256: 'a'.repeat(64) },
      rollback: { mode: 'automatic', maxBootAttempts: 3 },
      healthCheck: { requiredPasses: 10, intervalSeconds: 10, deadlineSeconds: 30 },
    };
    expectInvalidAt(parseOtaJobDocument(v1), '/healthCheck/deadlineSeconds');
    const ok = parseOtaJobDocument({ ...v1, healthCheck: { ...v1.healthCheck, deadlineSeconds: 91 } });
    expect(ok.ok && ok.value.healthChecks.checks).toEqual([{ kind: 'process' }]);
  });

  it('reports several issues in one message, each with its path', () => {
    const doc = withField(withField(install, '/bundle/version', 'x'), '/download/size', -1);
    const e = failure(parseOtaJobDocument(doc));
    expect(e.message).toMatch(/^invalid OTA job document: /);
    expect(e.message).toContain('/bundle/version');
    expect(e.message).toContain('/download/size');
  });

  it('names the unknown tag and the known ones instead of "Expected union value"', () => {
    const e = failure(parseOtaJobDocument(withField(install, '/healthChecks/checks/0/kind', 'ping')));
    expect(e.message).toContain('/healthChecks/checks/0/kind: Expected one of "http", "command", "process", "mqtt"');
  });
});

describe('OTA job document v2: documents from a newer writer, and size', () => {
  it.each([
    ['/schemaVersion', 3, 'UNSUPPORTED_SCHEMA_VERSION'],
    ['/operation', 'ota.reboot', 'UNSUPPORTED_OPERATION'],
    ['/component', 'bootloader', 'UNSUPPORTED_COMPONENT'],
  ] as const)('%s = %j is %s, and the agent reports that code', (pointer, value, code) => {
    const e = failure(parseOtaJobDocument(withField(install, pointer, value)));
    expect(e.code).toBe(code);
    expect(e.message).toContain(pointer);
    expect(jobDocumentReasonCode(e)).toBe(code);
  });

  it('maps malformed documents to INVALID_JOB_DOCUMENT', () => {
    expect(jobDocumentReasonCode(failure(parseOtaJobDocument('{')))).toBe('INVALID_JOB_DOCUMENT');
    expect(jobDocumentReasonCode(failure(parseOtaJobDocument({ schemaVersion: 2 })))).toBe('INVALID_JOB_DOCUMENT');
  });

  it('holds decoded documents to the 32 KB limit too', () => {
    const argv = ['/bin/check', ...Array.from({ length: 31 }, () => 'x'.repeat(1024))];
    const longUrl = `https://bundles.example.test/${'u'.repeat(2000)}`;
    const big = withField(withField(install, '/healthChecks/checks/1/argv', argv), '/download/url', longUrl);
    const bytes = Buffer.byteLength(JSON.stringify(big));
    expect(bytes).toBeGreaterThan(JOB_DOCUMENT_MAX_BYTES);
    for (const input of [big, JSON.stringify(big)]) {
      expect(failure(parseOtaJobDocument(input))).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        bytes,
        limit: JOB_DOCUMENT_MAX_BYTES,
      });
    }
    const fits = withField(install, '/healthChecks/checks/1/argv', argv.slice(0, 25));
    expect(parseOtaJobDocument(fits).ok).toBe(true);
  });

  it('refuses a value with no JSON form', () => {
    expect(failure(parseOtaJobDocument({ size: 1n })).code).toBe('INVALID_JSON');
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  OTA_REASON_CODES,
  otaReasonInfo,
  parseConfigDesired,
  parseConfigReported,
  parseHealthReport,
  parseOtaJobDocument,
  parseOtaStatusDetails,
  parseReportedState,
  type OtaPayloadError,
  type Result,
} from '@otafleet/protocol';

/** docs/ota-protocol.md: its examples must parse, and its reason-code table must say what the code says. */
const DOC = readFileSync(fileURLToPath(new URL('../../../docs/ota-protocol.md', import.meta.url)), 'utf8');

const parsers: Record<string, (text: string) => Result<unknown, OtaPayloadError>> = {
  'job-document': parseOtaJobDocument,
  'status-details': (text) => parseOtaStatusDetails(JSON.parse(text)),
  'health-report': (text) => parseHealthReport(text, (JSON.parse(text) as { thingName: string }).thingName),
  'reported-state': parseReportedState,
  'config-desired': parseConfigDesired,
  'config-reported': parseConfigReported,
};

const examples = [...DOC.matchAll(/<!-- example: ([a-z-]+) -->\s*```json\n([\s\S]*?)```/g)].map((m) => ({
  kind: m[1] ?? '',
  json: m[2] ?? '',
}));

describe('docs/ota-protocol.md', () => {
  it('has an example of every document', () => {
    expect(new Set(examples.map((e) => e.kind))).toEqual(new Set(Object.keys(parsers)));
    expect(examples.filter((e) => e.kind === 'job-document')).toHaveLength(3);
  });

  it.each(examples.map((e, i) => [`${i + 1}: ${e.kind}`, e] as const))('example %s parses', (_n, { kind, json }) => {
    const parse = parsers[kind];
    expect(parse, `no parser for ${kind}`).toBeDefined();
    const r = parse?.(json);
    expect(r?.ok ? 'ok' : r?.error.message).toBe('ok');
  });

  it('lists every reason code once, as otaReasonInfo has it', () => {
    const rows = [...DOC.matchAll(/^\| `([A-Z_]+)` +\| ([a-z]+) +\| (yes|no) +\| (yes|no) +\| ([A-Z_]+) +\|/gm)];
    expect(rows.map((r) => r[1])).toEqual([...OTA_REASON_CODES]);
    for (const [, code, category, retryable, failure, status] of rows) {
      const info = otaReasonInfo(code as (typeof OTA_REASON_CODES)[number]);
      expect([category, retryable, failure, status], code).toEqual([
        info.category,
        info.retryable ? 'yes' : 'no',
        info.failure ? 'yes' : 'no',
        info.executionStatus,
      ]);
    }
  });
});

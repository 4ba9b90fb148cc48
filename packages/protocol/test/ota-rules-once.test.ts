import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BundleManifestSchema,
  BundlePayloadSchema,
  ConfigReportedSchema,
  HealthReportV1Schema,
  HealthReportV2Schema,
  JOB_ID_PATTERN,
  LastUpdateSchema,
  OtaBundleRefSchema,
  OtaDownloadSchema,
  OtaJobDocumentV1Schema,
  OtaRollbackTargetSchema,
  OtaStatusDetailsWireSchema,
  ReportedStateSchema,
  SEMVER_PATTERN,
  SlotContentSchema,
  THING_NAME_PATTERN_SOURCE,
  compileValidator,
  isValidJobId,
  isValidThingName,
} from '@otafleet/protocol';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Pattern literals a file writes out: `pattern: '...'`, `..._PATTERN... = '...'` and `= /.../` regexes. */
function patternLiterals(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const quoted = [...text.matchAll(/(?:pattern:\s*|PATTERN\w*\s*=\s*)'((?:[^'\\]|\\.)+)'/g)].map((m) => m[1] ?? '');
  const regexes = [...text.matchAll(/=\s*\/(\^(?:[^/\\\n]|\\.)+)\/[a-z]*;/g)].map((m) => m[1] ?? '');
  return [...quoted, ...regexes.map((r) => r.replace(/\\/g, '\\\\'))];
}

describe('every identifier rule exists once', () => {
  it('no pattern in src/ota restates one written elsewhere in protocol, or twice in src/ota', () => {
    const files = sources(SRC);
    const ota = files.filter((f) => relative(SRC, f).startsWith('ota'));
    const elsewhere = new Set(files.filter((f) => !ota.includes(f)).flatMap(patternLiterals));
    const seen = new Map<string, string>();
    for (const file of ota) {
      for (const p of patternLiterals(file)) {
        expect(elsewhere.has(p), `${relative(SRC, file)} restates ${p}`).toBe(false);
        expect(seen.get(p), `${p} is written in ${seen.get(p)} and ${relative(SRC, file)}`).toBeUndefined();
        seen.set(p, relative(SRC, file));
      }
    }
    // The scan itself finds patterns: a broken regex above would pass everything.
    expect(seen.size).toBeGreaterThan(5);
    expect(elsewhere.size).toBeGreaterThan(5);
  });

  it("OTA schemas carry protocol's own rule objects and patterns", () => {
    const manifest = BundleManifestSchema.properties;
    const required = [
      OtaBundleRefSchema.properties.version,
      SlotContentSchema.properties.version,
      ReportedStateSchema.properties.firmwareVersion,
      HealthReportV2Schema.properties.agentVersion,
    ];
    // Type.Optional wraps a copy; the rule inside is the same.
    const optional = [LastUpdateSchema.properties.toVersion, OtaStatusDetailsWireSchema.properties.fromVersion];
    for (const version of required) expect(version).toBe(manifest.version);
    for (const version of [...required, ...optional]) {
      expect(version).toMatchObject({ pattern: SEMVER_PATTERN, maxLength: manifest.version.maxLength });
    }
    expect(OtaBundleRefSchema.properties.name).toBe(manifest.name);
    expect(OtaBundleRefSchema.properties.securityVersion).toBe(manifest.securityVersion);
    expect(OtaDownloadSchema.properties.sha256).toBe(BundlePayloadSchema.properties.sha256);
    expect(OtaJobDocumentV1Schema.properties.download.properties.sha256).toBe(BundlePayloadSchema.properties.sha256);
    expect(HealthReportV2Schema.properties.hardwareType).toBe(manifest.compatibleHardware.items);
    expect(HealthReportV2Schema.properties.thingName.pattern).toBe(THING_NAME_PATTERN_SOURCE);
    expect(HealthReportV1Schema.properties.thingName.pattern).toBe(THING_NAME_PATTERN_SOURCE);
    expect(LastUpdateSchema.properties.jobId.pattern).toBe(JOB_ID_PATTERN.source);
    const bundleTarget = OtaRollbackTargetSchema.anyOf[1];
    expect(bundleTarget?.properties.bundle).toBe(OtaBundleRefSchema);
    expect(ConfigReportedSchema.properties.error.pattern).toBe(LastUpdateSchema.properties.reason.pattern);
  });

  it('and accept exactly what the shared predicates accept', () => {
    const thing = compileValidator(HealthReportV2Schema.properties.thingName);
    const job = compileValidator(LastUpdateSchema.properties.jobId);
    const samples = [
      'pi-0001',
      'a:b_c-D',
      'x'.repeat(64),
      'x'.repeat(65),
      'x'.repeat(128),
      'x'.repeat(129),
      '',
      'a b',
      'a/b',
      'é',
      '$next',
      'job.1',
    ];
    for (const s of samples) {
      expect(thing.check(s), `thing name ${s}`).toBe(isValidThingName(s));
      expect(job.check(s), `job id ${s}`).toBe(isValidJobId(s));
    }
  });
});

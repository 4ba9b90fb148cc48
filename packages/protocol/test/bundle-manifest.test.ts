import { describe, expect, it } from 'vitest';
import {
  BUNDLE_ERROR_CODES,
  canonicalJson,
  decodeBundleManifest,
  encodeBundleManifest,
  isBundleErrorCode,
  MAX_BUNDLE_MANIFEST_BYTES,
  validateBundleManifest,
  type BundleManifest,
} from '@otafleet/protocol';

const manifest: BundleManifest = {
  formatVersion: 1,
  name: 'demo-app',
  version: '1.2.3-rc.1+build.5',
  securityVersion: 7,
  compatibleHardware: ['rpi4', 'rpi5'],
  installType: 'app-dir',
  payloads: [{ name: 'app.tar', kind: 'tar', size: 10240, sha256: 'a'.repeat(64), entries: 3 }],
  createdAt: '2026-01-01T00:00:00Z',
  expiresAt: '2027-01-01T00:00:00.000Z',
  minAgentVersion: '1.0.0',
  keyId: 'fleet-2026',
  signatureAlgorithm: 'ecdsa-p256-sha256',
};

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('canonicalJson', () => {
  it('sorts keys at every level, no whitespace, drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 'é' }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"y":"é","z":1}]},"b":1}',
    );
  });
  it('is independent of key insertion order', () => {
    const reordered = Object.fromEntries(Object.entries(manifest).reverse());
    expect(canonicalJson(reordered)).toBe(canonicalJson(manifest));
  });
  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });
});

describe('bundle manifest encoding', () => {
  it('round-trips', () => {
    const decoded = decodeBundleManifest(encodeBundleManifest(manifest));
    expect(decoded).toEqual({ ok: true, value: manifest });
  });

  it('refuses non-canonical bytes of a valid manifest (whitespace, key order, duplicate keys)', () => {
    const canonical = text(encodeBundleManifest(manifest));
    const spaced = JSON.stringify(JSON.parse(canonical), null, 1);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(manifest).reverse()));
    const duplicated = canonical.replace('"name":"demo-app"', '"name":"evil","name":"demo-app"');
    for (const variant of [spaced, reordered, duplicated]) {
      const r = decodeBundleManifest(bytes(variant));
      expect(r.ok ? 'ok' : r.error.code).toBe('BUNDLE_MANIFEST_NOT_CANONICAL');
    }
  });

  it('refuses an oversized manifest before parsing it', () => {
    const r = decodeBundleManifest(new Uint8Array(MAX_BUNDLE_MANIFEST_BYTES + 1));
    expect(r.ok ? 'ok' : r.error.code).toBe('BUNDLE_MANIFEST_TOO_LARGE');
  });

  it('refuses bytes that are not UTF-8 JSON', () => {
    for (const b of [new Uint8Array([0xff, 0xfe]), bytes('{"a":')]) {
      const r = decodeBundleManifest(b);
      expect(r.ok ? 'ok' : r.error.code).toBe('BUNDLE_MANIFEST_INVALID');
    }
  });
});

describe('bundle manifest validation', () => {
  const bad: ReadonlyArray<[string, Record<string, unknown>]> = [
    ['an unknown field', { extra: 1 }],
    ['a non-semver version', { version: '1.2' }],
    ['a leading-zero version', { version: '01.2.3' }],
    ['a negative security version', { securityVersion: -1 }],
    ['a fractional security version', { securityVersion: 1.5 }],
    ['no compatible hardware', { compatibleHardware: [] }],
    ['duplicate hardware', { compatibleHardware: ['rpi4', 'rpi4'] }],
    ['an unknown install type', { installType: 'firmware' }],
    ['an unknown algorithm', { signatureAlgorithm: 'rsa-pss' }],
    ['a non-UTC timestamp', { createdAt: '2026-01-01T00:00:00+02:00' }],
    ['an impossible date', { createdAt: '2026-02-31T00:00:00Z' }],
    ['expiry not after creation', { expiresAt: '2026-01-01T00:00:00Z' }],
    ['no payloads', { payloads: [] }],
    ['an uppercase digest', { payloads: [{ ...manifest.payloads[0], sha256: 'A'.repeat(64) }] }],
    [
      'duplicate payload names',
      { payloads: [manifest.payloads[0], { ...manifest.payloads[0], kind: 'image', entries: undefined }] },
    ],
    ['a first payload not matching the install type', { installType: 'rootfs-image' }],
    [
      'entries on a non-tar payload',
      { payloads: [manifest.payloads[0], { name: 'x', kind: 'image', size: 1, sha256: 'b'.repeat(64), entries: 1 }] },
    ],
    ['a path-like payload name', { payloads: [{ ...manifest.payloads[0], name: '../app.tar' }] }],
  ];
  it.each(bad)('refuses %s', (_label, patch) => {
    const candidate = JSON.parse(JSON.stringify({ ...manifest, ...patch })) as unknown;
    const r = validateBundleManifest(candidate);
    expect(r.ok ? 'ok' : r.error.code).toBe('BUNDLE_MANIFEST_INVALID');
  });

  it('error codes are a closed, prefixed set', () => {
    expect(BUNDLE_ERROR_CODES.every((c) => c.startsWith('BUNDLE_'))).toBe(true);
    expect(isBundleErrorCode('BUNDLE_EXPIRED')).toBe(true);
    expect(isBundleErrorCode('EXPIRED')).toBe(false);
  });
});

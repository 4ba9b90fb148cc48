import { describe, expect, it } from 'vitest';
import {
  BUNDLE_MAGIC,
  decodeBundlePayloadHeader,
  decodeBundlePreamble,
  decodeBundleSignatureHeader,
  encodeBundlePayloadHeader,
  encodeBundlePreamble,
  encodeBundleSignatureBlock,
  MAX_BUNDLE_MANIFEST_BYTES,
  parseBundleTrustSet,
} from '@otafleet/protocol';

const code = (r: { ok: boolean; error?: { code: string } }): string => (r.ok ? 'ok' : (r.error?.code ?? '?'));

describe('bundle container framing', () => {
  it('preamble round-trips and refuses bad magic, versions, lengths', () => {
    const good = encodeBundlePreamble(1234);
    expect(decodeBundlePreamble(good)).toEqual({ ok: true, value: { manifestLength: 1234 } });
    expect(good.subarray(0, 8)).toEqual(BUNDLE_MAGIC);

    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(code(decodeBundlePreamble(badMagic))).toBe('BUNDLE_BAD_MAGIC');
    const v2 = good.slice();
    v2[9] = 2;
    expect(code(decodeBundlePreamble(v2))).toBe('BUNDLE_UNSUPPORTED_FORMAT');
    const reserved = good.slice();
    reserved[11] = 1;
    expect(code(decodeBundlePreamble(reserved))).toBe('BUNDLE_UNSUPPORTED_FORMAT');
    expect(code(decodeBundlePreamble(encodeBundlePreamble(MAX_BUNDLE_MANIFEST_BYTES + 1)))).toBe(
      'BUNDLE_MANIFEST_TOO_LARGE',
    );
    expect(code(decodeBundlePreamble(encodeBundlePreamble(0)))).toBe('BUNDLE_MANIFEST_INVALID');
    expect(code(decodeBundlePreamble(good.subarray(0, 10)))).toBe('BUNDLE_TRUNCATED');
  });

  it('signature block header round-trips; unknown algorithms and odd lengths are refused', () => {
    const block = encodeBundleSignatureBlock({ algorithm: 'ed25519', keyId: 'k1', signature: new Uint8Array(64) });
    expect(decodeBundleSignatureHeader(block)).toEqual({
      ok: true,
      value: { algorithm: 'ed25519', keyIdLength: 2, signatureLength: 64 },
    });
    expect(decodeBundleSignatureHeader(encodeBundleSignatureBlock(null))).toEqual({
      ok: true,
      value: { algorithm: null, keyIdLength: 0, signatureLength: 0 },
    });
    expect(code(decodeBundleSignatureHeader(new Uint8Array([9, 1, 0, 1])))).toBe('BUNDLE_SIGNATURE_BLOCK_INVALID');
    expect(code(decodeBundleSignatureHeader(new Uint8Array([1, 0, 0, 64])))).toBe('BUNDLE_SIGNATURE_BLOCK_INVALID');
    expect(code(decodeBundleSignatureHeader(new Uint8Array([1, 2, 0x10, 0])))).toBe('BUNDLE_SIGNATURE_BLOCK_INVALID');
    expect(code(decodeBundleSignatureHeader(new Uint8Array([0, 2, 0, 0])))).toBe('BUNDLE_SIGNATURE_BLOCK_INVALID');
  });

  it('payload frame lengths beyond 2^53 are not representable and come back null', () => {
    expect(decodeBundlePayloadHeader(encodeBundlePayloadHeader(2 ** 40))).toBe(2 ** 40);
    expect(decodeBundlePayloadHeader(new Uint8Array(8).fill(0xff))).toBeNull();
  });
});

describe('trust set file', () => {
  const key = { id: 'k1', algorithm: 'ed25519', publicKey: '-----BEGIN PUBLIC KEY-----\n...', status: 'active' };
  it('parses a valid set', () => {
    expect(code(parseBundleTrustSet(JSON.stringify({ keys: [key, { ...key, id: 'k2', status: 'retired' }] })))).toBe(
      'ok',
    );
  });
  it.each([
    ['duplicate ids', { keys: [key, key] }],
    ['an unknown status', { keys: [{ ...key, status: 'trusted' }] }],
    ['an unknown algorithm', { keys: [{ ...key, algorithm: 'rsa' }] }],
    ['a bad notAfter', { keys: [{ ...key, notAfter: 'tomorrow' }] }],
    ['an extra field', { keys: [key], version: 2 }],
  ])('refuses %s', (_label, value) => {
    expect(code(parseBundleTrustSet(JSON.stringify(value)))).toBe('BUNDLE_TRUST_SET_INVALID');
  });
  it('refuses non-JSON', () => {
    expect(code(parseBundleTrustSet('{keys'))).toBe('BUNDLE_TRUST_SET_INVALID');
  });
});

import { describe, expect, it } from 'vitest';
import { signBundleUrl, verifyBundleUrl } from '@otafleet/protocol';

const key = Buffer.from('k'.repeat(32));
const now = Date.UTC(2026, 11, 1);
const check = (url: string, at = now, k: Uint8Array = key) => {
  const u = new URL(url);
  return verifyBundleUrl(u.pathname, u.searchParams, k, at);
};

describe('signed bundle URLs', () => {
  it('verify until they expire', () => {
    const url = signBundleUrl('http://127.0.0.1:8080/bundles/abc.otab', key, now + 60_000);
    expect(check(url)).toEqual({ ok: true, expiresAtMs: now + 60_000 });
    expect(check(url, now + 60_000)).toMatchObject({ ok: false, code: 'URL_EXPIRED' });
  });

  it('refuse another key, another path, a changed expiry, a missing signature', () => {
    const url = signBundleUrl('http://h/bundles/abc.otab', key, now + 60_000);
    expect(check(url, now, Buffer.from('x'.repeat(32)))).toMatchObject({ ok: false, code: 'URL_SIGNATURE_INVALID' });
    expect(check(url.replace('abc', 'abd'))).toMatchObject({ ok: false, code: 'URL_SIGNATURE_INVALID' });
    const later = new URL(url);
    later.searchParams.set('expires', String(Math.floor(now / 1000) + 999_999));
    expect(check(later.toString())).toMatchObject({ ok: false, code: 'URL_SIGNATURE_INVALID' });
    expect(check('http://h/bundles/abc.otab')).toMatchObject({ ok: false, code: 'URL_UNSIGNED' });
    const garbage = new URL(url);
    garbage.searchParams.set('signature', 'zz');
    expect(check(garbage.toString())).toMatchObject({ ok: false, code: 'URL_SIGNATURE_INVALID' });
  });
});

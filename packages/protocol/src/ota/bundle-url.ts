import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Expiring signed bundle URLs, the local stand-in for S3 presigned URLs: the bundle store serves
 * `<base>/<sha256>.otab?expires=<epoch seconds>&signature=<hex>` only while `expires` is in the future and the
 * signature is an HMAC-SHA256, under a key the issuer and the store share, of the path and the expiry. The URL
 * names no caller, so a device needs no other credential to download; it learns nothing it could reuse after
 * `expires` or for another bundle.
 */
export const BUNDLE_URL_EXPIRES_PARAM = 'expires';
export const BUNDLE_URL_SIGNATURE_PARAM = 'signature';

const mac = (key: Uint8Array, path: string, expires: number): string =>
  createHmac('sha256', key).update(`${path}\n${expires}`).digest('hex');

/** Signs `url` (its path) to be valid until `expiresAtMs`. Existing query parameters are kept. */
export function signBundleUrl(url: string, key: Uint8Array, expiresAtMs: number): string {
  const parsed = new URL(url);
  const expires = Math.floor(expiresAtMs / 1000);
  parsed.searchParams.set(BUNDLE_URL_EXPIRES_PARAM, String(expires));
  parsed.searchParams.set(BUNDLE_URL_SIGNATURE_PARAM, mac(key, parsed.pathname, expires));
  return parsed.toString();
}

export type BundleUrlCheck =
  | { readonly ok: true; readonly expiresAtMs: number }
  | {
      readonly ok: false;
      readonly code: 'URL_UNSIGNED' | 'URL_EXPIRED' | 'URL_SIGNATURE_INVALID';
      readonly message: string;
    };

/** Checks a request's path and query against the key at `nowMs`. */
export function verifyBundleUrl(path: string, query: URLSearchParams, key: Uint8Array, nowMs: number): BundleUrlCheck {
  const expiresText = query.get(BUNDLE_URL_EXPIRES_PARAM);
  const signature = query.get(BUNDLE_URL_SIGNATURE_PARAM);
  if (expiresText === null || signature === null) {
    return {
      ok: false,
      code: 'URL_UNSIGNED',
      message: `the URL needs ${BUNDLE_URL_EXPIRES_PARAM} and ${BUNDLE_URL_SIGNATURE_PARAM}`,
    };
  }
  const expires = Number(expiresText);
  if (!Number.isSafeInteger(expires)) {
    return { ok: false, code: 'URL_SIGNATURE_INVALID', message: `${BUNDLE_URL_EXPIRES_PARAM} is not a number` };
  }
  const expected = Buffer.from(mac(key, path, expires), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, code: 'URL_SIGNATURE_INVALID', message: 'the URL signature does not match' };
  }
  if (expires * 1000 <= nowMs) {
    return { ok: false, code: 'URL_EXPIRED', message: `the URL expired at ${new Date(expires * 1000).toISOString()}` };
  }
  return { ok: true, expiresAtMs: expires * 1000 };
}

import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Expiring signed bundle URLs: the local stand-in for the S3 presigned URLs AWS IoT Jobs puts in a job document
 * in place of `${aws:iot:s3-presigned-url:https://host/path}`. The core signs, the bundle store that serves
 * the URL verifies, both with the same key:
 *
 *   https://host/path?expires=<epoch seconds>&signature=<hex HMAC-SHA256(key, path + "\n" + expires)>
 *
 * Only the URL's path and the expiry are signed; other query parameters are kept as they were and not covered.
 * The format is the one of @otafleet/protocol's signBundleUrl (ota/bundle-url.ts, on main since this branch was
 * cut), so the fleet service's bundle store verifies these URLs; at the merge this pair gives way to that one.
 */
export const BUNDLE_URL_EXPIRES_PARAM = 'expires';
export const BUNDLE_URL_SIGNATURE_PARAM = 'signature';

const signature = (key: Uint8Array, path: string, expires: number): string =>
  createHmac('sha256', key).update(`${path}\n${expires}`).digest('hex');

/** The URL with its expiry (epoch seconds) and signature appended. */
export function signBundleUrl(url: string, key: Uint8Array, expiresAtSeconds: number): string {
  const u = new URL(url);
  u.searchParams.delete(BUNDLE_URL_EXPIRES_PARAM);
  u.searchParams.delete(BUNDLE_URL_SIGNATURE_PARAM);
  u.searchParams.append(BUNDLE_URL_EXPIRES_PARAM, String(expiresAtSeconds));
  u.searchParams.append(BUNDLE_URL_SIGNATURE_PARAM, signature(key, u.pathname, expiresAtSeconds));
  return u.toString();
}

export type BundleUrlVerdict =
  | { readonly ok: true; readonly path: string; readonly expiresAtSeconds: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'unsigned' | 'expired' | 'bad-signature' };

/**
 * Checks a signed bundle URL (absolute, or a request path with its query) at `nowMs`: signed with `key`, for
 * this path, and not yet expired (valid up to, not including, its expiry second).
 */
export function verifyBundleUrl(url: string, key: Uint8Array, nowMs: number): BundleUrlVerdict {
  let u: URL;
  try {
    u = new URL(url, 'http://bundle-store.invalid');
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expiresText = u.searchParams.get(BUNDLE_URL_EXPIRES_PARAM);
  const given = u.searchParams.get(BUNDLE_URL_SIGNATURE_PARAM);
  if (expiresText === null || given === null) return { ok: false, reason: 'unsigned' };
  if (!/^\d{1,12}$/.test(expiresText)) return { ok: false, reason: 'malformed' };
  const expires = Number(expiresText);
  const expected = Buffer.from(signature(key, u.pathname, expires));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { ok: false, reason: 'bad-signature' };
  if (nowMs >= expires * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, path: u.pathname, expiresAtSeconds: expires };
}

const PLACEHOLDER = /\$\{aws:iot:s3-presigned-url:([^}]+)\}/g;
const PLACEHOLDER_MARK = '${aws:iot:s3-presigned-url:';

/** AWS's default presignedUrlConfig.expiresInSec. */
export const DEFAULT_PRESIGNED_URL_EXPIRES_SEC = 3600;

/**
 * The job document a device reads: every `${aws:iot:s3-presigned-url:<url>}` in a string value replaced by
 * `<url>` signed to expire `expiresInSec` from now. A placeholder whose URL does not parse is left as it is.
 */
export function substitutePresignedUrls(
  documentText: string,
  document: Readonly<Record<string, unknown>>,
  opts: { readonly key: Uint8Array; readonly nowMs: number; readonly expiresInSec: number | undefined },
): Readonly<Record<string, unknown>> {
  if (!documentText.includes(PLACEHOLDER_MARK)) return document;
  const expires = Math.floor(opts.nowMs / 1000) + (opts.expiresInSec ?? DEFAULT_PRESIGNED_URL_EXPIRES_SEC);
  const replace = (text: string): string =>
    text.replace(PLACEHOLDER, (whole, url: string) => {
      try {
        return signBundleUrl(url, opts.key, expires);
      } catch {
        return whole;
      }
    });
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return replace(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(document) as Record<string, unknown>;
}

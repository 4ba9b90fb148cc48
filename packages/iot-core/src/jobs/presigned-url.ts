import { signBundleUrl } from '@otafleet/protocol';
import { parseS3Url, presignS3Get, type S3PresignTarget } from './s3-presign.js';

/*
 * The local stand-in for the S3 presigned URLs AWS IoT Jobs puts in a job document in place of
 * `${aws:iot:s3-presigned-url:https://host/path}`: the core signs with protocol's signBundleUrl (ota/bundle-url.ts),
 * the bundle store that serves the URL verifies with the same key. When the core is given an S3-compatible endpoint
 * (the stand-in for the role AWS would assume), a placeholder naming an S3 object URL becomes a SigV4-presigned GET
 * of that object on the endpoint instead (s3-presign.ts).
 */
const PLACEHOLDER = /\$\{aws:iot:s3-presigned-url:([^}]+)\}/g;
const PLACEHOLDER_MARK = '${aws:iot:s3-presigned-url:';

/** AWS's default presignedUrlConfig.expiresInSec. */
export const DEFAULT_PRESIGNED_URL_EXPIRES_SEC = 3600;

/**
 * The job document a device reads: every `${aws:iot:s3-presigned-url:<url>}` in a string value replaced by
 * `<url>` signed to expire `expiresInSec` from now — an S3 object URL presigned on `s3` when that is given. A
 * placeholder whose URL does not parse is left as it is.
 */
export function substitutePresignedUrls(
  documentText: string,
  document: Readonly<Record<string, unknown>>,
  opts: {
    readonly key: Uint8Array;
    readonly nowMs: number;
    readonly expiresInSec: number | undefined;
    readonly s3?: S3PresignTarget | undefined;
  },
): Readonly<Record<string, unknown>> {
  if (!documentText.includes(PLACEHOLDER_MARK)) return document;
  const validFor = opts.expiresInSec ?? DEFAULT_PRESIGNED_URL_EXPIRES_SEC;
  const expires = Math.floor(opts.nowMs / 1000) + validFor;
  const replace = (text: string): string =>
    text.replace(PLACEHOLDER, (whole, url: string) => {
      try {
        const object = opts.s3 === undefined ? undefined : parseS3Url(url);
        if (opts.s3 !== undefined && object !== undefined) return presignS3Get(opts.s3, object, opts.nowMs, validFor);
        return signBundleUrl(url, opts.key, expires * 1000);
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

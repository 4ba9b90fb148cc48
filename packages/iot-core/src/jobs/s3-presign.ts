import { createHash, createHmac } from 'node:crypto';

/**
 * The local stand-in for what AWS IoT Jobs does with `${aws:iot:s3-presigned-url:<S3 URL>}` when the job has a
 * presignedUrlConfig: assume the role and hand the device a SigV4 query-presigned GET of the object. Here the
 * "role" is a configured S3-compatible endpoint with its own key pair. Synchronous (node:crypto) because a job
 * document is substituted on every device read, inside the Jobs engine's transaction.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export interface S3PresignTarget {
  /** Base URL of the S3-compatible server, reached path-style (`<endpoint>/<bucket>/<key>`). */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export class S3PresignConfigError extends Error {
  override readonly name = 'S3PresignConfigError';
  readonly code = 'S3_PRESIGN_ENDPOINT_INVALID';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * https everywhere; plain http only for an S3 server on this machine's loopback (a test or development server):
 * a presigned URL is a bearer credential, and devices must not fetch one in the clear over a network.
 */
export function checkS3PresignEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new S3PresignConfigError(`the S3 endpoint "${endpoint}" is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw new S3PresignConfigError(
    `the S3 endpoint "${endpoint}" must be https (plain http is allowed on 127.0.0.1, localhost or [::1] only)`,
  );
}

/** Where an S3 URL in a placeholder points: AWS's virtual-hosted and path-style forms. */
export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

const VIRTUAL_HOSTED = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$/;
const PATH_STYLE = /^s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$/;

/** The bucket and key of an https S3 object URL, or undefined for any other URL. */
export function parseS3Url(text: string): S3ObjectRef | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.search !== '') return undefined;
  const path = decodeURIComponent(url.pathname.slice(1));
  const hosted = VIRTUAL_HOSTED.exec(url.hostname);
  if (hosted?.[1] !== undefined) return path === '' ? undefined : { bucket: hosted[1], key: path };
  if (!PATH_STYLE.test(url.hostname)) return undefined;
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
const escape = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** A GET of `bucket/key` on the target, presigned at `nowMs` for `expiresInSec` seconds. */
export function presignS3Get(
  target: S3PresignTarget,
  object: S3ObjectRef,
  nowMs: number,
  expiresInSec: number,
): string {
  const base = checkS3PresignEndpoint(target.endpoint);
  const amzDate = new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const prefix = base.pathname.replace(/\/$/, '');
  const path = `${prefix}/${escape(object.bucket)}/${object.key.split('/').map(escape).join('/')}`;
  const query = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${target.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresInSec)],
    ['X-Amz-SignedHeaders', 'host'],
  ]
    .map(([k, v]) => `${escape(k ?? '')}=${escape(v ?? '')}`)
    .sort()
    .join('&');
  const canonical = ['GET', path, query, `host:${base.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical, 'utf8').digest('hex'),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${target.secretAccessKey}`, day), target.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return `${base.protocol}//${base.host}${path}?${query}&X-Amz-Signature=${signature}`;
}

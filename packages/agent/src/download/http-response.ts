import type { IncomingHttpHeaders } from 'node:http';

/** `Content-Range: bytes first-last/complete` (RFC 9110 §14.4); complete is null for `*`. */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly complete: number | null;
}

export function parseContentRange(value: string | undefined): ContentRange | null {
  if (value === undefined) return null;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (m === null) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const complete = m[3] === '*' ? null : Number(m[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return null;
  if (complete !== null && (!Number.isSafeInteger(complete) || last >= complete)) return null;
  return { first, last, complete };
}

/** What to do with the answer to `GET` (with `Range: bytes=offset-` when offset > 0). */
export type ResponsePlan =
  /** Read the body; its first byte is the file's byte `start`. */
  | { readonly kind: 'body'; readonly start: number }
  /** The server cannot continue at our offset (416, or a Content-Range elsewhere): fetch the whole file. */
  | { readonly kind: 'restart-from-zero'; readonly why: string }
  /** The server's idea of the file size is not the job's: no retry fixes this. */
  | { readonly kind: 'size-mismatch'; readonly why: string }
  /** 401/403/400: perhaps an expired presigned URL; the body decides. */
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'redirect'; readonly location: string }
  /** Worth retrying after a backoff (408, 429, 5xx). */
  | { readonly kind: 'transient'; readonly why: string; readonly retryAfter: string | undefined }
  /** Any other answer: retrying the same request would get the same. */
  | { readonly kind: 'fatal'; readonly why: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function planResponse(
  status: number,
  headers: IncomingHttpHeaders,
  requestedOffset: number,
  expectedSize: number,
): ResponsePlan {
  const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
  if (status === 200) {
    if (length !== null && length !== expectedSize) {
      return { kind: 'size-mismatch', why: `server sends ${length} bytes, the job says ${expectedSize}` };
    }
    return { kind: 'body', start: 0 };
  }
  if (status === 206) {
    const range = parseContentRange(headers['content-range']);
    if (range === null) return { kind: 'restart-from-zero', why: `206 with Content-Range ${headers['content-range']}` };
    if (range.complete !== null && range.complete !== expectedSize) {
      return { kind: 'size-mismatch', why: `server has ${range.complete} bytes, the job says ${expectedSize}` };
    }
    if (range.first !== requestedOffset || range.last !== expectedSize - 1) {
      return {
        kind: 'restart-from-zero',
        why: `asked for bytes ${requestedOffset}-, got Content-Range ${headers['content-range']}`,
      };
    }
    if (length !== null && length !== range.last - range.first + 1) {
      return { kind: 'restart-from-zero', why: `Content-Length ${length} disagrees with ${headers['content-range']}` };
    }
    return { kind: 'body', start: range.first };
  }
  if (status === 416) {
    // Content-Range: bytes */complete names the server's size; a different one is a mismatch, not a restart.
    const m = /^bytes \*\/(\d+)$/.exec(headers['content-range']?.trim() ?? '');
    if (m !== null && Number(m[1]) !== expectedSize) {
      return { kind: 'size-mismatch', why: `server has ${m[1]} bytes, the job says ${expectedSize}` };
    }
    return { kind: 'restart-from-zero', why: `416 for bytes ${requestedOffset}-` };
  }
  if (status === 400 || status === 401 || status === 403) return { kind: 'refused', status };
  if (REDIRECTS.has(status)) {
    const location = headers.location;
    return location === undefined
      ? { kind: 'fatal', why: `${status} without Location` }
      : { kind: 'redirect', location };
  }
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
    return { kind: 'transient', why: `HTTP ${status}`, retryAfter: headers['retry-after'] };
  }
  return { kind: 'fatal', why: `HTTP ${status}` };
}

/**
 * The default test for "this presigned URL has expired, ask for a fresh one": any 401/403 (S3 answers an
 * expired presigned URL with 403 AccessDenied "Request has expired"; a rotated signing credential is a 403
 * too, and either way only a new URL helps), and a 400 whose AWS error names an expiry
 * (RequestExpired, ExpiredToken, AuthorizationQueryParametersError for an out-of-range X-Amz-Expires).
 * See https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html
 */
export function looksLikeExpiredUrl(status: number, body: string): boolean {
  if (status === 401 || status === 403) return true;
  if (status !== 400) return false;
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  if (
    code !== undefined &&
    /^(RequestExpired|ExpiredToken|ExpiredTokenException|AuthorizationQueryParametersError)$/.test(code)
  ) {
    return true;
  }
  return /expired/i.test(body);
}

/** `AccessDenied: Request has expired` out of an S3-style XML error document, else the body's start. */
export function awsErrorSummary(body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  if (code !== undefined) return message === undefined ? code : `${code}: ${message}`;
  return body.slice(0, 200).trim() || '(no body)';
}

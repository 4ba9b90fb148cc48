import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { err, ok, type Result } from '@otafleet/protocol';

/**
 * AWS Signature Version 4 verification (Authorization header form), following
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and the error messages of
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html.
 */
export type SigV4FailureName =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

export interface SigV4Failure {
  readonly name: SigV4FailureName;
  readonly message: string;
}

export interface SigV4Request {
  readonly method: string;
  /** The request target exactly as received: path and query string, still percent-encoded. */
  readonly rawUrl: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body was not read (no route matched): trust the signed x-amz-content-sha256 header instead. */
  readonly bodyUnread?: boolean;
}

export interface SigV4Policy {
  /** accessKeyId → secretAccessKey */
  readonly secrets: ReadonlyMap<string, string>;
  readonly region: string;
  /** Signing names accepted for this request (`iot` for the control plane, `iotdata` for the data plane). */
  readonly services: readonly string[];
  readonly now: Date;
  readonly maxSkewMs: number;
}

export interface SigV4Identity {
  readonly accessKeyId: string;
  readonly service: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const fail = (name: SigV4FailureName, message: string): { readonly ok: false; readonly error: SigV4Failure } =>
  err({ name, message });

const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Signing keys derived from a secret for one date, region and service (four HMACs each): a client signs every
 * request of a day with the same one, so the derivation is done once. Bounded: emptied when it grows past
 * MAX_SIGNING_KEYS (a day rollover or many keys), then refilled on use.
 */
const MAX_SIGNING_KEYS = 256;
const signingKeys = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}/${region}/${service}/${secret}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  const kDate = hmac(`AWS4${secret}`, date);
  const key = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
  if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

/** RFC 3986 encoding as the AWS signers do it: everything but unreserved characters. */
export const escapeUri = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** Non-S3 services sign the normalised path with each segment URI-encoded once more. */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return escapeUri(`/${segments.join('/')}${trailing}`).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string | undefined {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = safeDecode(eq < 0 ? '' : part.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    pairs.push([escapeUri(key), escapeUri(value)]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
};

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly scopeRegion: string;
  readonly scopeService: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function parseAuthorization(value: string): Result<ParsedAuthorization, SigV4Failure> {
  if (!value.startsWith(`${ALGORITHM} `)) {
    return fail('IncompleteSignatureException', `Unsupported authorization type; expected ${ALGORITHM}`);
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const required of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.has(required)) {
      return fail(
        'IncompleteSignatureException',
        `Authorization header requires '${required}' parameter. Authorization=${value}`,
      );
    }
  }
  const scope = (fields.get('Credential') ?? '').split('/');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope;
  if (
    scope.length !== 5 ||
    accessKeyId === undefined ||
    scopeDate === undefined ||
    scopeRegion === undefined ||
    scopeService === undefined ||
    terminator !== 'aws4_request'
  ) {
    return fail(
      'IncompleteSignatureException',
      `Credential should be of the form <key>/<date>/<region>/<service>/aws4_request: ${fields.get('Credential') ?? ''}`,
    );
  }
  const signedHeaders = (fields.get('SignedHeaders') ?? '').split(';').filter((h) => h !== '');
  return ok({
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    signedHeaders,
    signature: fields.get('Signature') ?? '',
  });
}

/** `20261123T084725Z` → Date, or undefined when not in the ISO 8601 basic format SigV4 uses. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amzDate = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

export function verifySigV4(request: SigV4Request, policy: SigV4Policy): Result<SigV4Identity, SigV4Failure> {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined || authorization === '') {
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const parsed = parseAuthorization(authorization);
  if (!parsed.ok) return parsed;
  const auth = parsed.value;

  const secret = policy.secrets.get(auth.accessKeyId);
  if (secret === undefined) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const dateHeader = headerValue(request.headers, 'x-amz-date');
  if (dateHeader === undefined) {
    return fail('IncompleteSignatureException', "Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const signedAt = parseAmzDate(dateHeader);
  if (signedAt === undefined) {
    return fail('IncompleteSignatureException', `Invalid X-Amz-Date: ${dateHeader}; expected YYYYMMDD'T'HHMMSS'Z'`);
  }
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
    return fail('InvalidSignatureException', "'Host' and 'X-Amz-Date' must be signed headers.");
  }
  if (auth.scopeDate !== dateHeader.slice(0, 8)) {
    return fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`,
    );
  }
  if (auth.scopeRegion !== policy.region) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${auth.scopeRegion}'.`,
    );
  }
  if (!policy.services.includes(auth.scopeService)) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${policy.services.join("' or '")}'.`,
    );
  }
  const skew = signedAt.getTime() - policy.now.getTime();
  const skewMinutes = Math.round(policy.maxSkewMs / 60_000);
  if (skew < -policy.maxSkewMs) {
    const limit = new Date(policy.now.getTime() - policy.maxSkewMs);
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${dateHeader} is now earlier than ${amzDate(limit)} (${amzDate(policy.now)} - ${skewMinutes} min.)`,
    );
  }
  if (skew > policy.maxSkewMs) {
    const limit = new Date(policy.now.getTime() + policy.maxSkewMs);
    return fail(
      'InvalidSignatureException',
      `Signature not yet current: ${dateHeader} is still later than ${amzDate(limit)} (${amzDate(policy.now)} + ${skewMinutes} min.)`,
    );
  }

  const claimedHash = headerValue(request.headers, 'x-amz-content-sha256');
  const payloadHash = request.bodyUnread === true && claimedHash !== undefined ? claimedHash : sha256Hex(request.body);
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    return fail(
      'InvalidSignatureException',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
  const q = request.rawUrl.indexOf('?');
  const rawPath = q < 0 ? request.rawUrl : request.rawUrl.slice(0, q);
  const query = canonicalQuery(q < 0 ? '' : request.rawUrl.slice(q + 1));
  if (query === undefined) return fail('InvalidSignatureException', SIGNATURE_MISMATCH);
  const signedHeaders = [...auth.signedHeaders].sort();
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValue(request.headers, h) ?? ''}\n`).join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(rawPath),
    query,
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/aws4_request`;
  const stringToSign = [ALGORITHM, dateHeader, scope, sha256Hex(canonicalRequest)].join('\n');
  const kSigning = signingKey(secret, auth.scopeDate, auth.scopeRegion, auth.scopeService);
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  const given = /^[0-9a-f]{64}$/.test(auth.signature) ? Buffer.from(auth.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('InvalidSignatureException', SIGNATURE_MISMATCH);
  }
  return ok({ accessKeyId: auth.accessKeyId, service: auth.scopeService });
}

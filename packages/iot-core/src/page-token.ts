import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AwsServiceError } from './aws-error.js';

/**
 * The one nextToken scheme of every list operation. A token is opaque to the caller and tamper-evident:
 * `base64url(JSON {listing, cursor}).base64url(HMAC)`, keyed by a secret of this process, so a token is only
 * ever one this core handed out, for this listing (and this thing / group / job when the listing is narrowed
 * to one). AWS documents nextToken as opaque; tokens do not outlive a restart of the core.
 */
const KEY = randomBytes(32);
const MAC_BYTES = 16;

export type PageCursor = string | number;

export interface PageTokens<C extends PageCursor> {
  /** The token that continues after `cursor`; `scope` is what a narrowed listing lists (a group, a job…). */
  encode(cursor: C, scope?: string): string;
  /** The cursor of a token (undefined for none), or InvalidRequestException naming nextToken. */
  decode(token: string | undefined, scope?: string): C | undefined;
}

const mac = (body: string): Buffer => createHmac('sha256', KEY).update(body).digest().subarray(0, MAC_BYTES);

export const invalidNextToken = (why: string): AwsServiceError =>
  new AwsServiceError('InvalidRequestException', 400, `Invalid nextToken: ${why}`);

interface TokenBody {
  readonly l: string;
  readonly c: unknown;
}

function readToken(token: string): TokenBody {
  const dot = token.indexOf('.');
  const body = dot < 0 ? '' : token.slice(0, dot);
  const given = Buffer.from(dot < 0 ? '' : token.slice(dot + 1), 'base64url');
  const expected = mac(body);
  if (body === '' || given.length !== expected.length || !timingSafeEqual(given, expected))
    throw invalidNextToken('it is not a token this service handed out');
  const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenBody;
  return parsed;
}

function pageTokens<C extends PageCursor>(listing: string, isCursor: (c: unknown) => c is C): PageTokens<C> {
  const key = (scope: string | undefined): string => (scope === undefined ? listing : `${listing}(${scope})`);
  return {
    encode(cursor, scope) {
      const body = Buffer.from(JSON.stringify({ l: key(scope), c: cursor }), 'utf8').toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    decode(token, scope) {
      if (token === undefined || token === '') return undefined;
      const { l, c } = readToken(token);
      if (l !== key(scope)) throw invalidNextToken(`it belongs to ${l}, not ${key(scope)}`);
      if (!isCursor(c)) throw invalidNextToken('it is not a token this service handed out');
      return c;
    },
  };
}

const isName = (c: unknown): c is string => typeof c === 'string';
const isOffset = (c: unknown): c is number => typeof c === 'number' && Number.isSafeInteger(c) && c >= 0;

/** Tokens of a listing ordered by name: the cursor is the last name returned, so pages stay stable under writes. */
export const nameCursorTokens = (listing: string): PageTokens<string> => pageTokens(listing, isName);
/** Tokens of a listing paged by position: the cursor is the offset of the next page. */
export const offsetCursorTokens = (listing: string): PageTokens<number> => pageTokens(listing, isOffset);

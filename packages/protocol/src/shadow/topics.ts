import { err, ok, type Result } from '../result.js';
import { SHADOW_NAME, THING_NAME, type IdentifierRule } from '../identifiers.js';

export type ShadowOperation = 'get' | 'update' | 'delete';
export type ShadowResponseType = 'accepted' | 'rejected' | 'delta' | 'documents';

/** One Device Shadow topic; `shadowName` absent means the classic (unnamed) shadow. */
export interface ShadowTopic {
  readonly thingName: string;
  readonly shadowName?: string;
  readonly operation: ShadowOperation;
  readonly responseType?: ShadowResponseType;
}

export type ShadowTopicError =
  | { readonly kind: 'not-a-shadow-topic'; readonly topic: string }
  | { readonly kind: 'invalid-thing-name'; readonly thingName: string }
  | { readonly kind: 'invalid-shadow-name'; readonly shadowName: string }
  | { readonly kind: 'unknown-operation'; readonly topic: string };

export type ShadowNameError =
  | { readonly kind: 'empty' }
  | { readonly kind: 'too-long'; readonly bytes: number; readonly limit: number }
  | { readonly kind: 'invalid-characters' };

export const MAX_THING_NAME_BYTES = THING_NAME.maxLength;
export const MAX_SHADOW_NAME_BYTES = SHADOW_NAME.maxLength;

/** Which part of the rule a name breaks, for the Shadow service's specific messages. */
function checkName(name: string, rule: IdentifierRule): ShadowNameError | undefined {
  if (name.length === 0) return { kind: 'empty' };
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > rule.maxLength) return { kind: 'too-long', bytes, limit: rule.maxLength };
  if (!rule.test(name)) return { kind: 'invalid-characters' };
  return undefined;
}

export const checkThingName = (name: string): ShadowNameError | undefined => checkName(name, THING_NAME);
export const checkShadowName = (name: string): ShadowNameError | undefined => checkName(name, SHADOW_NAME);

/** `$aws/things/{thing}/shadow` or `$aws/things/{thing}/shadow/name/{shadowName}`. */
export function shadowTopicPrefix(thingName: string, shadowName?: string): string {
  const base = `$aws/things/${thingName}/shadow`;
  return shadowName === undefined ? base : `${base}/name/${shadowName}`;
}

export function shadowTopic(t: ShadowTopic): string {
  const request = `${shadowTopicPrefix(t.thingName, t.shadowName)}/${t.operation}`;
  return t.responseType === undefined ? request : `${request}/${t.responseType}`;
}

/**
 * The topic of an answer to a request received on `requestTopic` (`.../shadow[/name/<n>]/<operation>`): AWS
 * answers on the request topic plus `/accepted`, `/rejected` (and, for update, `/delta`, `/documents`). Saves
 * rebuilding the topic from its parts for every answer.
 */
export const shadowAnswerTopic = (requestTopic: string, responseType: ShadowResponseType): string =>
  `${requestTopic}/${responseType}`;

/** The filters the shadow service subscribes to: every request topic of every thing, classic and named. */
export const SHADOW_REQUEST_FILTERS: readonly string[] = Object.freeze([
  '$aws/things/+/shadow/+',
  '$aws/things/+/shadow/name/+/+',
]);

const OPERATIONS: ReadonlySet<string> = new Set<ShadowOperation>(['get', 'update', 'delete']);

function responseTypeFor(operation: ShadowOperation, suffix: string): ShadowResponseType | undefined {
  if (suffix === 'accepted' || suffix === 'rejected') return suffix;
  if (operation === 'update' && (suffix === 'delta' || suffix === 'documents')) return suffix;
  return undefined;
}

/** Parses any Device Shadow request or response topic; never throws. */
export function parseShadowTopic(topic: string): Result<ShadowTopic, ShadowTopicError> {
  const parts = topic.split('/');
  if (parts[0] !== '$aws' || parts[1] !== 'things' || parts[3] !== 'shadow' || parts.length < 5) {
    return err({ kind: 'not-a-shadow-topic', topic });
  }
  const thingName = parts[2] ?? '';
  if (checkThingName(thingName) !== undefined) return err({ kind: 'invalid-thing-name', thingName });
  let rest = parts.slice(4);
  let shadowName: string | undefined;
  if (rest[0] === 'name') {
    shadowName = rest[1] ?? '';
    if (rest.length < 3) return err({ kind: 'not-a-shadow-topic', topic });
    if (checkShadowName(shadowName) !== undefined) return err({ kind: 'invalid-shadow-name', shadowName });
    rest = rest.slice(2);
  }
  const [op, suffix, ...extra] = rest;
  if (op === undefined || !OPERATIONS.has(op) || extra.length > 0) return err({ kind: 'unknown-operation', topic });
  const operation = op as ShadowOperation;
  const base = shadowName === undefined ? { thingName, operation } : { thingName, shadowName, operation };
  if (suffix === undefined) return ok(base);
  const responseType = responseTypeFor(operation, suffix);
  if (responseType === undefined) return err({ kind: 'unknown-operation', topic });
  return ok({ ...base, responseType });
}

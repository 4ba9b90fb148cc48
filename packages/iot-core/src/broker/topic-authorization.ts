import { TELEMETRY_PREFIX } from '@otafleet/protocol';
import type { Principal } from '../identity/principal.js';

/**
 * Per-thing topic authorization, as the usual AWS IoT thing policy grants it with
 * `${iot:Connection.Thing.ThingName}`: a device reaches only `$aws/things/<its name>/...` and its
 * telemetry `dt/<its name>/...`; privileged services reach everything.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html
 */

/** First level of device telemetry topics (owned by packages/protocol): `dt/<thingName>/...`. */
export const TELEMETRY_TOPIC_PREFIX = TELEMETRY_PREFIX;

const namespacesOf = (thingName: string): readonly (readonly string[])[] => [
  ['$aws', 'things', thingName],
  [TELEMETRY_TOPIC_PREFIX, thingName],
];

const startsWithLiterally = (levels: readonly string[], prefix: readonly string[]): boolean =>
  levels.length >= prefix.length && prefix.every((p, i) => levels[i] === p);

const hasWildcard = (topic: string): boolean => topic.includes('+') || topic.includes('#');

/** Whether `principal` may publish to `topic` (a topic name, never a filter). */
export function canPublish(principal: Principal, topic: string): boolean {
  if (topic.length === 0 || hasWildcard(topic)) return false;
  if (principal.kind === 'service') return true;
  const levels = topic.split('/');
  return namespacesOf(principal.thingName).some((ns) => startsWithLiterally(levels, ns));
}

/**
 * Whether `principal` may subscribe to `filter`. A device's filter must name its own namespace
 * literally in the leading levels; wildcards are allowed only after them (`$aws/things/me/shadow/get/+`,
 * `$aws/things/me/jobs/+/get/+`, `dt/me/#`), so no filter it is granted can match another thing's topic.
 * As in AWS policies, a subscription is judged by the filter's text, not by the topics it happens to match.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/pub-sub-policy.html
 */
export function canSubscribe(principal: Principal, filter: string): boolean {
  if (filter.length === 0 || !isWellFormedFilter(filter)) return false;
  if (principal.kind === 'service') return true;
  const levels = filter.split('/');
  return namespacesOf(principal.thingName).some((ns) => startsWithLiterally(levels, ns));
}

/** MQTT 3.1.1 section 4.7.1: `#` only as the whole last level, `+` only as a whole level. */
function isWellFormedFilter(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level === '#') return i === levels.length - 1;
    if (level === '+') return true;
    return !hasWildcard(level);
  });
}

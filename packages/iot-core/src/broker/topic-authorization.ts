import { isInThingNamespace, isValidTopicName, isWellFormedFilter } from '@otafleet/protocol';
import type { Principal } from '../identity/principal.js';

/**
 * Per-thing topic authorization, as the usual AWS IoT thing policy grants it with
 * `${iot:Connection.Thing.ThingName}`: a device reaches only `$aws/things/<its name>/...` and its
 * telemetry `dt/<its name>/...` (protocol's thing namespaces); privileged services reach everything.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html
 */

/** Whether `principal` may publish to `topic` (a topic name, never a filter). */
export function canPublish(principal: Principal, topic: string): boolean {
  if (!isValidTopicName(topic)) return false;
  return principal.kind === 'service' || isInThingNamespace(principal.thingName, topic);
}

/**
 * Whether `principal` may subscribe to `filter`. A device's filter must name its own namespace
 * literally in the leading levels; wildcards are allowed only after them (`$aws/things/me/shadow/get/+`,
 * `$aws/things/me/jobs/+/get/+`, `dt/me/#`), so no filter it is granted can match another thing's topic.
 * As in AWS policies, a subscription is judged by the filter's text, not by the topics it happens to match.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/pub-sub-policy.html
 */
export function canSubscribe(principal: Principal, filter: string): boolean {
  if (!isWellFormedFilter(filter)) return false;
  return principal.kind === 'service' || isInThingNamespace(principal.thingName, filter);
}

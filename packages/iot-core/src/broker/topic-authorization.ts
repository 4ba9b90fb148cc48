import {
  isAwsEventsTopic,
  isInThingNamespace,
  isSharedSubscription,
  isValidTopicName,
  isWellFormedFilter,
  parseSharedSubscription,
  SHARED_SUBSCRIPTION_PREFIX,
} from '@otafleet/protocol';
import type { Principal } from '../identity/principal.js';

/**
 * Per-thing topic authorization, as the usual AWS IoT thing policy grants it with
 * `${iot:Connection.Thing.ThingName}`: a device reaches only `$aws/things/<its name>/...` and its
 * telemetry `dt/<its name>/...` (protocol's thing namespaces); privileged services reach everything, the
 * broker's own event space `$aws/events/...` (lifecycle and Jobs events) included.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html
 */

/**
 * Topics no client may publish to, whoever it is: the broker's `$SYS/` and shared-subscription syntax (MQTT 5
 * section 4.8.2: a topic name must not start with `$share/`).
 */
export const isReservedForBroker = (topic: string): boolean =>
  topic.startsWith('$SYS/') || topic.startsWith(SHARED_SUBSCRIPTION_PREFIX);

/** Whether `principal` may publish to `topic` (a topic name, never a filter). */
export function canPublish(principal: Principal, topic: string): boolean {
  if (!isValidTopicName(topic) || isReservedForBroker(topic)) return false;
  return principal.kind === 'service' || isInThingNamespace(principal.thingName, topic);
}

/**
 * Whether `principal` may subscribe to `filter`. A device's filter must name its own namespace
 * literally in the leading levels; wildcards are allowed only after them (`$aws/things/me/shadow/get/+`,
 * `$aws/things/me/jobs/+/get/+`, `dt/me/#`), so no filter it is granted can match another thing's topic.
 * A shared subscription `$share/<group>/<filter>` is judged by its `<filter>`. `$aws/events/...` is for
 * services only. As in AWS policies, a subscription is judged by the filter's text, not by the topics it
 * happens to match. See https://docs.aws.amazon.com/iot/latest/developerguide/pub-sub-policy.html
 */
export function canSubscribe(principal: Principal, filter: string): boolean {
  const routed = isSharedSubscription(filter) ? parseSharedSubscription(filter)?.filter : filter;
  if (routed === undefined || !isWellFormedFilter(routed)) return false;
  if (principal.kind === 'service') return true;
  return !isAwsEventsTopic(routed) && isInThingNamespace(principal.thingName, routed);
}

import {
  compileTopicFilter,
  isSharedSubscription,
  isValidTopicName,
  isWellFormedFilter,
  parseSharedSubscription,
} from '@otafleet/protocol';
import { MqttClientError } from './errors.js';

/** MQTT's limits on topic names and filters (MQTT 3.1.1 section 4.7, MQTT 5 section 4.8.2). */
const MAX_TOPIC_BYTES = 65_535;

const checkString = (value: unknown, what: string, code: 'InvalidTopic' | 'InvalidTopicFilter'): string => {
  if (typeof value !== 'string' || value.length === 0)
    throw new MqttClientError(code, `${what} must be a non-empty string`);
  if (value.includes('\u0000'))
    throw new MqttClientError(code, `${what} must not contain U+0000: ${JSON.stringify(value)}`);
  if (Buffer.byteLength(value, 'utf8') > MAX_TOPIC_BYTES)
    throw new MqttClientError(code, `${what} is over ${MAX_TOPIC_BYTES} bytes of UTF-8`);
  return value;
};

/** Throws InvalidTopic unless `topic` may be published to. */
export function assertPublishTopic(topic: unknown): asserts topic is string {
  const t = checkString(topic, 'a publish topic', 'InvalidTopic');
  if (!isValidTopicName(t))
    throw new MqttClientError('InvalidTopic', `a publish topic must not contain wildcards (+, #): ${t}`);
}

/**
 * The part of a filter that topics are matched against: a shared subscription `$share/<group>/<filter>`
 * delivers topics matching `<filter>`. Throws InvalidTopicFilter for a filter MQTT does not allow.
 */
export function routingFilterOf(filter: unknown): string {
  const f = checkString(filter, 'a topic filter', 'InvalidTopicFilter');
  if (isSharedSubscription(f)) {
    const shared = parseSharedSubscription(f);
    if (shared === undefined)
      throw new MqttClientError(
        'InvalidTopicFilter',
        `a shared subscription is $share/<group>/<filter>, with a group name free of wildcards and a well-formed filter: ${f}`,
      );
    return shared.filter;
  }
  if (!isWellFormedFilter(f))
    throw new MqttClientError('InvalidTopicFilter', `+ and # must each be a whole level, # only the last one: ${f}`);
  return f;
}

/** A matcher for inbound topics (the protocol package's matcher, after stripping a `$share/<group>/` prefix). */
export function compileRoute(filter: string): (topic: string) => boolean {
  return compileTopicFilter(routingFilterOf(filter));
}

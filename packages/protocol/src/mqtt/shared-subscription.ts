import { isWellFormedFilter } from './thing-namespace.js';

/**
 * Shared subscriptions `$share/{group}/{filter}`: the broker hands each message matching `filter` to one member
 * of `group`. AWS IoT Core accepts them from MQTT 3.1.1 and MQTT 5 clients alike; the group name may not contain
 * `/`, `+` or `#`. See https://docs.aws.amazon.com/iot/latest/developerguide/mqtt.html#mqtt5-shared-subscription
 */
export const SHARED_SUBSCRIPTION_PREFIX = '$share/';

export interface SharedSubscription {
  readonly group: string;
  /** The filter topics are matched against. */
  readonly filter: string;
}

/** Whether a topic or filter is written as a shared subscription (well-formed or not). */
export const isSharedSubscription = (filter: string): boolean => filter.startsWith(SHARED_SUBSCRIPTION_PREFIX);

/**
 * The group and filter of `$share/{group}/{filter}`; undefined when `filter` is not a shared subscription or is a
 * malformed one (empty group, wildcard in the group, missing or malformed filter).
 */
export function parseSharedSubscription(filter: string): SharedSubscription | undefined {
  if (!isSharedSubscription(filter)) return undefined;
  const groupEnd = filter.indexOf('/', SHARED_SUBSCRIPTION_PREFIX.length);
  if (groupEnd === -1) return undefined;
  const group = filter.slice(SHARED_SUBSCRIPTION_PREFIX.length, groupEnd);
  const inner = filter.slice(groupEnd + 1);
  if (group.length === 0 || group.includes('+') || group.includes('#')) return undefined;
  if (!isWellFormedFilter(inner)) return undefined;
  return { group, filter: inner };
}

/** The filter topics are matched against: the inner filter of a shared subscription, else `filter` itself. */
export const routingFilter = (filter: string): string => parseSharedSubscription(filter)?.filter ?? filter;

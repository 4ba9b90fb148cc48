/**
 * The per-thing topic namespaces: `$aws/things/<thing>/...` (Shadow, Jobs) and the device's telemetry
 * `dt/<thing>/...`. A device may reach only its own; broker authorization, the broker's subscription index and
 * the Mosquitto ACL generator all read them from here.
 */
/**
 * Device telemetry lives outside the reserved `$aws/` space, under `dt/{thingName}/...` (AWS's recommended
 * "data telemetry" topic prefix; see AWS whitepaper "Designing MQTT Topics for AWS IoT Core").
 */
export const TELEMETRY_PREFIX = 'dt';
const AWS_THINGS_PREFIX = '$aws/things/';
const TELEMETRY_THING_PREFIX = `${TELEMETRY_PREFIX}/`;

/** The namespace prefixes (no trailing slash) of one thing: every topic it may use starts with one of them. */
export const thingNamespaces = (thingName: string): readonly [string, string] => [
  `${AWS_THINGS_PREFIX}${thingName}`,
  `${TELEMETRY_THING_PREFIX}${thingName}`,
];

/**
 * The same namespaces as Mosquitto ACL `pattern` lines write them, `%u` standing for the user name (the
 * certificate CN, which is the thing name).
 */
export const THING_NAMESPACE_ACL_PATTERNS: readonly string[] = Object.freeze(
  thingNamespaces('%u').map((ns) => `${ns}/#`),
);

/**
 * The per-thing namespace a topic or filter lies in (`$aws/things/<name>` or `dt/<name>`), when its thing level is
 * literal (no wildcard); undefined for anything else.
 */
export function thingNamespaceOf(topicOrFilter: string): string | undefined {
  const start = topicOrFilter.startsWith(AWS_THINGS_PREFIX)
    ? AWS_THINGS_PREFIX.length
    : topicOrFilter.startsWith(TELEMETRY_THING_PREFIX)
      ? TELEMETRY_THING_PREFIX.length
      : -1;
  if (start === -1) return undefined;
  const end = topicOrFilter.indexOf('/', start);
  const name = end === -1 ? topicOrFilter.slice(start) : topicOrFilter.slice(start, end);
  if (name === '' || name === '+' || name === '#') return undefined;
  return end === -1 ? topicOrFilter : topicOrFilter.slice(0, end);
}

/** Whether a topic or filter lies inside `thingName`'s own namespaces, its thing level literal. */
export function isInThingNamespace(thingName: string, topicOrFilter: string): boolean {
  const ns = thingNamespaceOf(topicOrFilter);
  return ns !== undefined && thingNamespaces(thingName).includes(ns);
}

const hasWildcard = (topic: string): boolean => topic.includes('+') || topic.includes('#');

/** A topic name (not a filter): non-empty, no wildcard characters. */
export const isValidTopicName = (topic: string): boolean => topic.length > 0 && !hasWildcard(topic);

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

/**
 * MQTT 3.1.1 section 4.7.1: non-empty, `#` only as the whole last level, `+` only as a whole level. One pass over
 * the characters, no split: every filter of every SUBSCRIBE is checked on both ends of the connection.
 */
export function isWellFormedFilter(filter: string): boolean {
  const n = filter.length;
  if (n === 0) return false;
  let levelStart = 0;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) levelStart = i + 1;
    else if (c === PLUS || c === HASH) {
      const end = i + 1;
      if (i !== levelStart || (end < n && filter.charCodeAt(end) !== SLASH)) return false; // not a whole level
      if (c === HASH && end !== n) return false; // not the last level
    }
  }
  return true;
}

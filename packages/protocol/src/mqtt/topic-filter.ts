/** MQTT topic filter matching (`+` one level, `#` the rest), per MQTT 3.1.1 section 4.7. */
export function topicMatches(filter: string, topic: string): boolean {
  if (!filter.includes('+') && !filter.includes('#')) return filter === topic; // the common case, no split
  return levelsMatch(filter.split('/'), topic);
}

/**
 * The same test with the filter parsed once, for filters checked against every message (bus routes):
 * the topic is walked in place rather than split.
 */
export function compileTopicFilter(filter: string): (topic: string) => boolean {
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  const levels = filter.split('/');
  return (topic) => levelsMatch(levels, topic);
}

function levelsMatch(levels: readonly string[], topic: string): boolean {
  // Filters starting with a wildcard never match topics starting with `$` (4.7.2).
  const first = levels[0];
  if ((first === '+' || first === '#') && topic.startsWith('$')) return false;
  let start = 0; // where the topic's next level starts; topic.length + 1 once every level is consumed
  for (const level of levels) {
    if (level === '#') return true; // also matches the parent level: `a/#` matches `a`
    if (start > topic.length) return false;
    let end = topic.indexOf('/', start);
    if (end === -1) end = topic.length;
    if (level !== '+' && (end - start !== level.length || !topic.startsWith(level, start))) return false;
    start = end + 1;
  }
  return start === topic.length + 1;
}

/**
 * AWS IoT Core takes at most 8 topic filters in one SUBSCRIBE (a hard quota, "Topic subscriptions per SUBSCRIBE
 * call"); a client with more sends several.
 */
export const MAX_FILTERS_PER_SUBSCRIBE = 8;

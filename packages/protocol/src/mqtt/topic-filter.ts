/**
 * MQTT topic filter matching (`+` one level, `#` the rest), per MQTT 3.1.1 section 4.7. Walks both strings in
 * place: it allocates nothing, so a broker can scan a connection's filters per message.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!filter.includes('+') && !filter.includes('#')) return filter === topic; // the common case
  return wildcardMatches(filter, topic);
}

/** The same test with the filter's kind found once, for filters checked against every message (bus routes). */
export function compileTopicFilter(filter: string): (topic: string) => boolean {
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  return (topic) => wildcardMatches(filter, topic);
}

function wildcardMatches(filter: string, topic: string): boolean {
  // Filters starting with a wildcard never match topics starting with `$` (4.7.2).
  const first = filter.charCodeAt(0);
  if ((first === PLUS || first === HASH) && topic.charCodeAt(0) === DOLLAR) return false;
  let f = 0; // where the filter's next level starts
  let t = 0; // the same in the topic; topic.length + 1 once every level is consumed
  for (;;) {
    let fEnd = filter.indexOf('/', f);
    if (fEnd === -1) fEnd = filter.length;
    const wildcard = fEnd - f === 1 ? filter.charCodeAt(f) : 0;
    if (wildcard === HASH) return true; // also matches the parent level: `a/#` matches `a`
    if (t > topic.length) return false;
    let tEnd = topic.indexOf('/', t);
    if (tEnd === -1) tEnd = topic.length;
    if (wildcard !== PLUS && !sameLevel(filter, f, fEnd, topic, t, tEnd)) return false;
    f = fEnd + 1;
    t = tEnd + 1;
    if (f > filter.length) return t === topic.length + 1;
  }
}

const PLUS = 43;
const HASH = 35;
const DOLLAR = 36;

function sameLevel(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

/**
 * AWS IoT Core takes at most 8 topic filters in one SUBSCRIBE (a hard quota, "Topic subscriptions per SUBSCRIBE
 * call"); a client with more sends several.
 */
export const MAX_FILTERS_PER_SUBSCRIBE = 8;

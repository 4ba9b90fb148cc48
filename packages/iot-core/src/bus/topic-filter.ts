/** MQTT topic filter matching (`+` one level, `#` the rest), per MQTT 3.1.1 section 4.7. */
export function topicMatches(filter: string, topic: string): boolean {
  if (!filter.includes('+') && !filter.includes('#')) return filter === topic; // the common case, no split
  // Filters starting with a wildcard never match topics starting with `$` (4.7.2).
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === '#') return true;
    if (i >= t.length) return false;
    if (part !== '+' && part !== t[i]) return false;
  }
  return f.length === t.length;
}

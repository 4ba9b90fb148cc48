import { compileTopicFilter, thingNamespaceOf } from '@otafleet/protocol';

interface Entry {
  count: number;
  readonly matches: (topic: string) => boolean;
}

const hasWildcard = (filter: string): boolean => filter.includes('+') || filter.includes('#');

/**
 * A multiset of topic filters answering "does any of them match this topic" in time proportional to the filters
 * that could match, not to all of them: literal filters are one hash lookup; wildcard filters are bucketed by the
 * thing namespace they name (`$aws/things/<name>`, `dt/<name>`), so a topic is tested only against its own
 * thing's few filters plus the rare wildcard filters outside any thing. Each filter is compiled once.
 */
export class FilterSet {
  private readonly literal = new Map<string, number>();
  private readonly byThing = new Map<string, Map<string, Entry>>();
  private readonly other = new Map<string, Entry>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(filter: string): void {
    this.total++;
    if (!hasWildcard(filter)) {
      this.literal.set(filter, (this.literal.get(filter) ?? 0) + 1);
      return;
    }
    const bucket = this.bucketOf(filter, true);
    const entry = bucket.get(filter);
    if (entry === undefined) bucket.set(filter, { count: 1, matches: compileTopicFilter(filter) });
    else entry.count++;
  }

  /** Removes one occurrence; a filter never added is ignored. */
  delete(filter: string): void {
    if (!hasWildcard(filter)) {
      const n = this.literal.get(filter);
      if (n === undefined) return;
      this.total--;
      if (n > 1) this.literal.set(filter, n - 1);
      else this.literal.delete(filter);
      return;
    }
    const bucket = this.bucketOf(filter, false);
    const entry = bucket?.get(filter);
    if (bucket === undefined || entry === undefined) return;
    this.total--;
    if (--entry.count > 0) return;
    bucket.delete(filter);
    const thing = thingNamespaceOf(filter);
    if (bucket.size === 0 && thing !== undefined) this.byThing.delete(thing);
  }

  matches(topic: string): boolean {
    if (this.literal.has(topic)) return true;
    const thing = thingNamespaceOf(topic);
    if (thing !== undefined) {
      const bucket = this.byThing.get(thing);
      if (bucket !== undefined) for (const e of bucket.values()) if (e.matches(topic)) return true;
    }
    for (const e of this.other.values()) if (e.matches(topic)) return true;
    return false;
  }

  private bucketOf(filter: string, create: true): Map<string, Entry>;
  private bucketOf(filter: string, create: false): Map<string, Entry> | undefined;
  private bucketOf(filter: string, create: boolean): Map<string, Entry> | undefined {
    const thing = thingNamespaceOf(filter);
    if (thing === undefined) return this.other;
    let bucket = this.byThing.get(thing);
    if (bucket === undefined && create) this.byThing.set(thing, (bucket = new Map<string, Entry>()));
    return bucket;
  }
}

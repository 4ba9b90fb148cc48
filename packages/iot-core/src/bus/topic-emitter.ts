import { topicMatches } from '@otafleet/protocol';

/** What aedes emits: a packet with its topic (aedes' Packet; only the topic is read here). */
export interface EmittedPacket {
  readonly topic: string;
}
/** A listener as aedes registers one: told the packet, it calls `done` once delivered (fastparallel's contract). */
type Listener = ((packet: EmittedPacket, done: () => void) => void) | ((done: () => void) => void);

/** One wildcard filter and who listens on it. */
interface WildcardRoute {
  readonly filter: string;
  readonly listeners: Listener[];
}

/** The filter's literal levels before its first wildcard, with their trailing slash ('' when it starts with one). */
function literalPrefix(filter: string): string | undefined {
  for (let levelStart = 0; levelStart <= filter.length;) {
    let end = filter.indexOf('/', levelStart);
    if (end === -1) end = filter.length;
    if (end - levelStart === 1) {
      const c = filter.charCodeAt(levelStart);
      if (c === 43 || c === 35) return filter.slice(0, levelStart); // + or #
    }
    levelStart = end + 1;
  }
  return undefined;
}

/**
 * The embedded broker's message router, in place of aedes' default (mqemitter over a qlobber trie). The trie holds a
 * Map per topic level per subscriber, and every device has its own subtree below its thing name: about 4 kB for
 * an agent's dozen filters. Here a filter without wildcards is one entry in one Map, and a filter with one is found
 * by the literal levels before its wildcard (one entry per device and prefix), then matched in place: about a
 * quarter of the memory, and a publish costs one lookup per level of its topic.
 *
 * The interface is the part of mqemitter's that aedes calls: on, removeListener, emit, close. Listeners are called
 * as mqemitter calls them (with the packet and a callback, or the callback alone if they take one argument), and
 * emit's callback runs once all have called theirs. A removal takes effect on the next turn, as mqemitter's does, so
 * a delivery under way still reaches whoever it matched. No queue: aedes runs here with concurrency 0, which makes
 * mqemitter deliver at once too.
 */
export class TopicEmitter {
  readonly #exact = new Map<string, Listener[]>();
  readonly #byPrefix = new Map<string, WildcardRoute[]>();
  /** How many prefixes of #byPrefix have each level count (`a/b/` has 2): a topic is cut only at those levels. */
  readonly #prefixLevels = new Map<number, number>();
  closed = false;

  on(filter: string, listener: Listener, done?: () => void): this {
    const prefix = literalPrefix(filter);
    if (prefix === undefined) {
      const listeners = this.#exact.get(filter);
      if (listeners === undefined) this.#exact.set(filter, [listener]);
      else listeners.push(listener);
    } else {
      const routes = this.#byPrefix.get(prefix);
      const route = routes?.find((r) => r.filter === filter);
      if (route !== undefined) route.listeners.push(listener);
      else if (routes !== undefined) routes.push({ filter, listeners: [listener] });
      else {
        this.#byPrefix.set(prefix, [{ filter, listeners: [listener] }]);
        const levels = slashes(prefix);
        this.#prefixLevels.set(levels, (this.#prefixLevels.get(levels) ?? 0) + 1);
      }
    }
    if (done) setImmediate(done);
    return this;
  }

  removeListener(filter: string, listener: Listener, done?: () => void): this {
    setImmediate(() => {
      this.#remove(filter, listener);
      done?.();
    });
    return this;
  }

  /** The last registration of `listener` on `filter`, as qlobber removes one. */
  #remove(filter: string, listener: Listener): void {
    const prefix = literalPrefix(filter);
    if (prefix === undefined) {
      const listeners = this.#exact.get(filter);
      if (listeners === undefined || !dropLast(listeners, listener)) return;
      if (listeners.length === 0) this.#exact.delete(filter);
      return;
    }
    const routes = this.#byPrefix.get(prefix);
    const at = routes?.findIndex((r) => r.filter === filter) ?? -1;
    if (routes === undefined || at === -1 || !dropLast(routes[at]!.listeners, listener)) return;
    if (routes[at]!.listeners.length > 0) return;
    routes.splice(at, 1);
    if (routes.length > 0) return;
    this.#byPrefix.delete(prefix);
    const levels = slashes(prefix);
    const left = (this.#prefixLevels.get(levels) ?? 1) - 1;
    if (left > 0) this.#prefixLevels.set(levels, left);
    else this.#prefixLevels.delete(levels);
  }

  emit(packet: EmittedPacket, done: (err?: Error) => void = noop): this {
    if (this.closed) {
      done(new Error('mqemitter is closed'));
      return this;
    }
    const listeners = this.#matching(packet.topic);
    let pending = listeners.length;
    if (pending === 0) {
      done();
      return this;
    }
    const delivered = (): void => {
      if (--pending === 0) done();
    };
    for (const listener of listeners) {
      if (listener.length === 1) (listener as (done: () => void) => void).call(this, delivered);
      else (listener as (packet: EmittedPacket, done: () => void) => void).call(this, packet, delivered);
    }
    return this;
  }

  /** Whether any filter matches `topic`. */
  hasListeners(topic: string): boolean {
    return this.#exact.has(topic) || this.#wildcardRoutes(topic, true).length > 0;
  }

  /** Every listener whose filter matches `topic`, once per registration (a new array). */
  #matching(topic: string): Listener[] {
    const out: Listener[] = [];
    const exact = this.#exact.get(topic);
    if (exact !== undefined) for (const l of exact) out.push(l);
    for (const r of this.#wildcardRoutes(topic, false)) for (const l of r.listeners) out.push(l);
    return out;
  }

  /**
   * The wildcard routes matching `topic` (the first one only, with `firstOnly`). Their prefixes end after a slash:
   * the empty one, the topic's own up to each slash, and the whole topic with a slash added (`a/#` matches `a`);
   * only those with as many slashes as some prefix held here are looked up.
   */
  #wildcardRoutes(topic: string, firstOnly: boolean): WildcardRoute[] {
    const found: WildcardRoute[] = [];
    if (this.#byPrefix.size === 0) return found;
    // `end`: where the prefix under test ends (past the topic's end: the topic and a slash); `levels`: its slashes.
    for (let end = 0, levels = 0; ; levels++) {
      if (this.#prefixLevels.has(levels) && this.#collect(topic, end, firstOnly, found)) break;
      if (end > topic.length) break;
      const slash = topic.indexOf('/', end);
      end = slash === -1 ? topic.length + 1 : slash + 1;
    }
    return found;
  }

  /** Adds the matching routes under the prefix that ends at `end` to `found`; true once `firstOnly` has one. */
  #collect(topic: string, end: number, firstOnly: boolean, found: WildcardRoute[]): boolean {
    const routes = this.#byPrefix.get(end > topic.length ? `${topic}/` : topic.slice(0, end));
    if (routes === undefined) return false;
    for (const r of routes) {
      if (!topicMatches(r.filter, topic)) continue;
      found.push(r);
      if (firstOnly) return true;
    }
    return false;
  }

  close(done?: () => void): this {
    this.closed = true;
    if (done) setImmediate(done);
    return this;
  }
}

/** Slashes in `text`: the level count of a prefix such as `a/b/` (2). */
function slashes(text: string): number {
  let n = 0;
  for (let at = text.indexOf('/'); at !== -1; at = text.indexOf('/', at + 1)) n++;
  return n;
}

function dropLast(listeners: Listener[], listener: Listener): boolean {
  const at = listeners.lastIndexOf(listener);
  if (at === -1) return false;
  listeners.splice(at, 1);
  return true;
}

function noop(): void {}

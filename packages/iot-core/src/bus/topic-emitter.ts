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
      else this.#byPrefix.set(prefix, [{ filter, listeners: [listener] }]);
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
    if (routes.length === 0) this.#byPrefix.delete(prefix);
  }

  emit(packet: EmittedPacket, done: (err?: Error) => void = noop): this {
    if (this.closed) {
      done(new Error('mqemitter is closed'));
      return this;
    }
    const listeners = this.matching(packet.topic);
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

  /** Whether any filter matches `topic` (allocates nothing but the level prefixes it looks up). */
  hasListeners(topic: string): boolean {
    if (this.#exact.has(topic)) return true;
    if (this.#byPrefix.size === 0) return false;
    if (anyMatches(this.#byPrefix.get(''), topic)) return true;
    for (let slash = topic.indexOf('/'); slash !== -1; slash = topic.indexOf('/', slash + 1))
      if (anyMatches(this.#byPrefix.get(topic.slice(0, slash + 1)), topic)) return true;
    return anyMatches(this.#byPrefix.get(`${topic}/`), topic);
  }

  /** Every listener whose filter matches `topic`, once per registration (a new array). */
  matching(topic: string): Listener[] {
    const out: Listener[] = [];
    const exact = this.#exact.get(topic);
    if (exact !== undefined) for (const l of exact) out.push(l);
    if (this.#byPrefix.size === 0) return out;
    this.#collect(this.#byPrefix.get(''), topic, out);
    for (let slash = topic.indexOf('/'); slash !== -1; slash = topic.indexOf('/', slash + 1))
      this.#collect(this.#byPrefix.get(topic.slice(0, slash + 1)), topic, out);
    // `a/#` also matches `a`: its prefix is the whole topic and a slash.
    this.#collect(this.#byPrefix.get(`${topic}/`), topic, out);
    return out;
  }

  #collect(routes: readonly WildcardRoute[] | undefined, topic: string, out: Listener[]): void {
    if (routes === undefined) return;
    for (const r of routes) if (topicMatches(r.filter, topic)) for (const l of r.listeners) out.push(l);
  }

  close(done?: () => void): this {
    this.closed = true;
    if (done) setImmediate(done);
    return this;
  }
}

const anyMatches = (routes: readonly WildcardRoute[] | undefined, topic: string): boolean =>
  routes !== undefined && routes.some((r) => topicMatches(r.filter, topic));

function dropLast(listeners: Listener[], listener: Listener): boolean {
  const at = listeners.lastIndexOf(listener);
  if (at === -1) return false;
  listeners.splice(at, 1);
  return true;
}

function noop(): void {}

import type { Aedes, Client, Subscription } from 'aedes';
import { routingFilter } from '@otafleet/protocol';
import { FilterSet } from './filter-set.js';
import { isGranted } from './granted.js';

// aedes keeps a session's subscriptions on the client at runtime but leaves them out of its type declarations.
type ClientInternals = Client & { readonly subscriptions?: Record<string, { readonly qos?: number } | undefined> };

/** One connection's routing filters: all of them, and those granted QoS 1 (a delivery is at the lower QoS). */
interface Matcher {
  readonly any: FilterSet;
  readonly qos1: FilterSet;
}
type AedesInternals = Aedes & { readonly clients: Record<string, Client | undefined> };

/**
 * Which topic filters the sessions of one embedded broker hold, for two questions on the services' hot path:
 * - `hasSubscribers(topic)`: may anyone receive it? A service skips building and publishing a message nobody
 *   would receive (a shadow's /update/documents that no one listens to costs a fifth of the shadow service's
 *   throughput). Errs only towards "someone may be listening": filters of a clean session are dropped when that
 *   very connection closes; filters of a persistent session (clean=false) are kept after it disconnects, because
 *   the broker queues QoS 1 messages for it, until it unsubscribes. Counts are per connection object, so a
 *   session taken over by a new connection with the same client id never loses the new connection's filters.
 * - `grantedQos(client, topic)`: the highest QoS this one connection holds a matching filter at, or undefined
 *   when it holds none (Jobs answers go to the requesting connection alone, at the lower of their QoS and this,
 *   as MQTT delivers). Each connection's filters are indexed too, so the answer costs the filters that could
 *   match, not all of the connection's filters.
 * Shared subscriptions `$share/<group>/<filter>` count as `<filter>`. Create the index before the broker
 * accepts connections (the embedded broker does); one created later starts from the connected clients'
 * sessions, and knows nothing of persistent sessions that are offline then.
 */
export class SubscriptionIndex {
  private readonly all = new FilterSet();
  /** Per connection: the filters as subscribed (possibly `$share/...`), for add/remove bookkeeping. */
  private readonly byConnection = new Map<Client, Set<string>>();
  /**
   * Per connection: its routing filters, built from the session's own table on first use after a change (so
   * restored sessions are covered and nothing is counted twice).
   */
  private readonly matchers = new WeakMap<Client, Matcher>();

  constructor(aedes: Aedes) {
    for (const client of Object.values((aedes as AedesInternals).clients))
      if (client !== undefined)
        for (const f of Object.keys((client as ClientInternals).subscriptions ?? {})) this.add(client, f);
    aedes.on('subscribe', (subs: Subscription[], client: Client) => {
      this.matchers.delete(client);
      for (const s of subs) if (isGranted(s)) this.add(client, s.topic);
    });
    aedes.on('unsubscribe', (filters: string[], client: Client) => {
      this.matchers.delete(client);
      for (const f of filters) this.remove(client, f);
    });
    // A persistent session's subscriptions are restored without a 'subscribe' event: rebuild then.
    aedes.on('clientReady', (client: Client) => this.matchers.delete(client));
    aedes.on('clientDisconnect', (client: Client) => {
      this.matchers.delete(client);
      if (!client.clean) return; // the broker keeps (and queues for) a persistent session's subscriptions
      for (const f of [...(this.byConnection.get(client) ?? [])]) this.remove(client, f);
      this.byConnection.delete(client);
    });
  }

  hasSubscribers(topic: string): boolean {
    return this.all.matches(topic);
  }

  grantedQos(client: Client, topic: string): 0 | 1 | undefined {
    const m = this.matcherOf(client);
    if (m.qos1.matches(topic)) return 1;
    return m.any.matches(topic) ? 0 : undefined;
  }

  private matcherOf(client: Client): Matcher {
    let matcher = this.matchers.get(client);
    if (matcher !== undefined) return matcher;
    // A client is reachable by id only once registered, and aedes restores a session's filters before that.
    matcher = { any: new FilterSet(), qos1: new FilterSet() };
    for (const [f, s] of Object.entries((client as ClientInternals).subscriptions ?? {})) {
      const routed = routingFilter(f);
      matcher.any.add(routed);
      if ((s?.qos ?? 0) >= 1) matcher.qos1.add(routed);
    }
    this.matchers.set(client, matcher);
    return matcher;
  }

  private add(client: Client, filter: string): void {
    let own = this.byConnection.get(client);
    if (own === undefined) this.byConnection.set(client, (own = new Set()));
    if (own.has(filter)) return; // a repeated SUBSCRIBE replaces, it does not add
    own.add(filter);
    this.all.add(routingFilter(filter));
  }

  private remove(client: Client, filter: string): void {
    const own = this.byConnection.get(client);
    if (own?.delete(filter) !== true) return;
    this.all.delete(routingFilter(filter));
  }
}

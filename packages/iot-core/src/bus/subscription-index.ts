import type { Aedes, Client, Subscription } from 'aedes';
import { routingFilter, topicMatches } from '@otafleet/protocol';
import { FilterSet } from './filter-set.js';
import { isGranted } from './granted.js';
import { TopicEmitter } from './topic-emitter.js';

// aedes keeps a session's subscriptions on the client at runtime but leaves them out of its type declarations.
type ClientInternals = Client & { readonly subscriptions?: Record<string, { readonly qos?: number } | undefined> };
type AedesInternals = Aedes & { readonly clients: Record<string, Client | undefined>; readonly mq: unknown };

/**
 * Which topic filters the sessions of one embedded broker hold, for two questions on the services' hot path:
 * - `hasSubscribers(topic)`: may anyone receive it? A service skips building and publishing a message nobody
 *   would receive (a shadow's /update/documents that no one listens to costs a fifth of the shadow service's
 *   throughput). Errs only towards "someone may be listening". The broker's own router (TopicEmitter) answers for
 *   every connected session; filters of a persistent session (clean=false) are also kept here after it
 *   disconnects, because the broker queues QoS 1 messages for it, until it unsubscribes. Those are counted per
 *   connection object, so a session taken over by a new connection with the same client id never loses the new
 *   connection's filters. Clean sessions cost nothing here: the router already holds their filters.
 * - `grantedQos(client, topic)`: the highest QoS this one connection holds a matching filter at, or undefined
 *   when it holds none (Jobs answers go to the requesting connection alone, at the lower of their QoS and this,
 *   as MQTT delivers). A scan of the session's own filters, which allocates nothing: a connection holds few
 *   (AWS IoT allows 50 by default) and asks this once per Jobs answer, so an index per connection cost more to
 *   build than it saved, and about 3 kB of heap on each of 10,000 virtual devices.
 * Shared subscriptions `$share/<group>/<filter>` count as `<filter>` (SharedSubscriptions routes `<filter>` for the
 * group). The broker must route through a TopicEmitter (the embedded broker does). Create the index before the
 * broker accepts connections; one created later knows nothing of persistent sessions that are offline then.
 */
export class SubscriptionIndex {
  private readonly routes: TopicEmitter;
  /** The filters of persistent sessions, kept after they disconnect. */
  private readonly persistent = new FilterSet();
  /** Per persistent connection: its filters as subscribed (possibly `$share/...`), for add/remove bookkeeping. */
  private readonly byConnection = new Map<Client, Set<string>>();

  constructor(aedes: Aedes) {
    const routes = (aedes as AedesInternals).mq;
    if (!(routes instanceof TopicEmitter))
      throw new TypeError("SubscriptionIndex reads the broker's router: create aedes with `mq: new TopicEmitter()`");
    this.routes = routes;
    for (const client of Object.values((aedes as AedesInternals).clients))
      if (client !== undefined && !client.clean)
        for (const f of Object.keys((client as ClientInternals).subscriptions ?? {})) this.add(client, f);
    aedes.on('subscribe', (subs: Subscription[], client: Client) => {
      if (client.clean) return;
      for (const s of subs) if (isGranted(s)) this.add(client, s.topic);
    });
    aedes.on('unsubscribe', (filters: string[], client: Client) => {
      for (const f of filters) this.remove(client, f);
    });
  }

  hasSubscribers(topic: string): boolean {
    return this.routes.hasListeners(topic) || this.persistent.matches(topic);
  }

  grantedQos(client: Client, topic: string): 0 | 1 | undefined {
    // The session's own table: restored persistent sessions are covered, and nothing is counted twice.
    const subscriptions = (client as ClientInternals).subscriptions;
    let granted: 0 | 1 | undefined;
    for (const filter in subscriptions) {
      if (!topicMatches(routingFilter(filter), topic)) continue;
      if ((subscriptions[filter]?.qos ?? 0) >= 1) return 1;
      granted = 0;
    }
    return granted;
  }

  private add(client: Client, filter: string): void {
    let own = this.byConnection.get(client);
    if (own === undefined) this.byConnection.set(client, (own = new Set()));
    if (own.has(filter)) return; // a repeated SUBSCRIBE replaces, it does not add
    own.add(filter);
    this.persistent.add(routingFilter(filter));
  }

  private remove(client: Client, filter: string): void {
    const own = this.byConnection.get(client);
    if (own?.delete(filter) !== true) return;
    this.persistent.delete(routingFilter(filter));
    if (own.size === 0) this.byConnection.delete(client);
  }
}

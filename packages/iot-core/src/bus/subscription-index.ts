import type { Aedes, Client, Subscription } from 'aedes';
import { thingNamespaceOf as thingOf, topicMatches } from '@otafleet/protocol';

/**
 * Which topic filters any session of the embedded broker holds, so a service can skip building and
 * publishing a message nobody would receive (a shadow's /update/documents that no one listens to costs a
 * fifth of the shadow service's throughput).
 *
 * Errs only towards "someone may be listening": filters of a clean session are dropped when that very
 * connection closes; filters of a persistent session (clean=false) are kept after it disconnects, because
 * the broker queues QoS 1 messages for it, until it unsubscribes. Counts are per connection object, so a
 * session taken over by a new connection with the same client id never loses the new connection's filters.
 * Devices may only subscribe under their own `$aws/things/<name>/` and `dt/<name>/` prefixes, so filters are
 * indexed by that namespace and a lookup tests only its few filters plus the rare ones outside any thing
 * (services with wildcards).
 */
const indexes = new WeakMap<Aedes, SubscriptionIndex>();

/**
 * Starts tracking a broker's subscriptions. Call it before the broker accepts connections (the embedded
 * broker does): an index created later would not know earlier subscriptions, so there is none then.
 */
export function trackSubscriptions(aedes: Aedes): SubscriptionIndex {
  let index = indexes.get(aedes);
  if (index === undefined) indexes.set(aedes, (index = new SubscriptionIndex(aedes)));
  return index;
}

export const subscriptionIndexOf = (aedes: Aedes): SubscriptionIndex | undefined => indexes.get(aedes);

export class SubscriptionIndex {
  private readonly byThing = new Map<string, Map<string, number>>();
  private readonly other = new Map<string, number>();
  private readonly byConnection = new Map<Client, Set<string>>();

  constructor(aedes: Aedes) {
    aedes.on('subscribe', (subs: Subscription[], client: Client) => {
      for (const s of subs) this.add(client, s.topic);
    });
    aedes.on('unsubscribe', (filters: string[], client: Client) => {
      for (const f of filters) this.remove(client, f);
    });
    aedes.on('clientDisconnect', (client: Client) => {
      if (!client.clean) return; // the broker keeps (and queues for) a persistent session's subscriptions
      for (const f of [...(this.byConnection.get(client) ?? [])]) this.remove(client, f);
      this.byConnection.delete(client);
    });
  }

  hasSubscribers(topic: string): boolean {
    const thing = thingOf(topic);
    if (thing !== undefined) {
      const filters = this.byThing.get(thing);
      if (filters !== undefined) for (const f of filters.keys()) if (topicMatches(f, topic)) return true;
    }
    for (const f of this.other.keys()) if (topicMatches(f, topic)) return true;
    return false;
  }

  private bucket(filter: string): Map<string, number> {
    const thing = thingOf(filter);
    if (thing === undefined) return this.other;
    let b = this.byThing.get(thing);
    if (b === undefined) this.byThing.set(thing, (b = new Map<string, number>()));
    return b;
  }

  private add(client: Client, filter: string): void {
    let own = this.byConnection.get(client);
    if (own === undefined) this.byConnection.set(client, (own = new Set()));
    if (own.has(filter)) return; // a repeated SUBSCRIBE replaces, it does not add
    own.add(filter);
    const b = this.bucket(filter);
    b.set(filter, (b.get(filter) ?? 0) + 1);
  }

  private remove(client: Client, filter: string): void {
    const own = this.byConnection.get(client);
    if (own?.delete(filter) !== true) return;
    const b = this.bucket(filter);
    const n = (b.get(filter) ?? 1) - 1;
    if (n > 0) b.set(filter, n);
    else b.delete(filter);
    const thing = thingOf(filter);
    if (b !== this.other && b.size === 0 && thing !== undefined) this.byThing.delete(thing);
  }
}

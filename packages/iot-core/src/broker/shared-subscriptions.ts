import type { Aedes, AedesPublishPacket, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { isSharedSubscription, parseSharedSubscription } from '@otafleet/protocol';
import { isGranted } from '../bus/granted.js';

/**
 * Shared subscriptions `$share/<group>/<filter>` on the embedded aedes broker, which has none of its own: for
 * MQTT 3.1.1 clients, as AWS IoT Core offers them. aedes grants and stores the `$share/...` filter literally
 * (it matches no topic: nobody may publish under `$share/`); here each (group, filter) holds one broker-level
 * subscription to `<filter>` that hands every message to one member, round robin.
 *
 * QoS 1 deliveries to a clean session stay in flight at their member until its PUBACK; a member that leaves
 * (disconnect, unsubscribe) with messages in flight hands them to the next member, so the group loses none; with
 * no member left they wait (up to `maxHeld` per group) for the next one to join. A persistent session (clean=false)
 * keeps what it was handed in its own queue, as aedes does for any QoS 1 message, and rejoins on reconnection;
 * while it is away the group stays subscribed, so what is published meanwhile goes to the other members or, with
 * none connected, is held for the first to (re)join: a service restarting under a persistent session misses
 * nothing. A message may reach the group twice (its first member may have processed it before the connection
 * died): QoS 1 is at least once.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/mqtt.html#mqtt5-shared-subscription
 */

interface Delivery {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: 0 | 1;
}

interface Member {
  readonly client: Client;
  readonly qos: 0 | 1;
  /** QoS 1 deliveries awaiting PUBACK, by packet identifier, in sending order. */
  readonly inFlight: Map<number, Delivery>;
}

interface Group {
  readonly key: string;
  readonly filter: string;
  readonly members: Member[];
  next: number;
  held: Delivery[];
  /** Client ids of persistent sessions in the group that are disconnected: they come back to it. */
  readonly away: Set<string>;
  readonly listener: (packet: AedesPublishPacket, cb: () => void) => void;
  subscribed: boolean;
}

// What aedes has at runtime but leaves out of its type declarations: the per-client delivery function (checks,
// QoS packet, write) and the packet-identifier counter it allocates from.
type ClientInternals = Client & {
  readonly subscriptions?: Record<string, { readonly qos?: number } | undefined>;
  _nextId: number;
  readonly closed: boolean;
  deliverQoS(packet: object, cb: () => void): void;
  deliver0(packet: object, cb: () => void): void;
};
type PersistenceInternals = {
  outgoingClearMessageId(client: Client, packet: { messageId?: number }): Promise<unknown>;
};

const MAX_PACKET_ID = 65_535;
const noop = (): void => {};

export interface SharedSubscriptionsOptions {
  readonly logger: Logger;
  /** Messages kept per group while it has no member (default 10,000); beyond that the oldest are dropped. */
  readonly maxHeld?: number;
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>();
  private readonly byClient = new Map<Client, Map<string, Member>>();
  private readonly maxHeld: number;
  private readonly logger: Logger;

  constructor(
    private readonly aedes: Aedes,
    options: SharedSubscriptionsOptions,
  ) {
    this.logger = options.logger;
    this.maxHeld = options.maxHeld ?? 10_000;
    aedes.on('subscribe', (subs: Subscription[], client: Client) => {
      for (const s of subs) if (isGranted(s)) this.join(client, s.topic, s.qos === 0 ? 0 : 1);
    });
    aedes.on('unsubscribe', (filters: string[], client: Client) => {
      for (const f of filters) this.leave(client, f, false);
    });
    // A persistent session's subscriptions come back on reconnection without a 'subscribe' event: rejoin.
    aedes.on('connackSent', (connack: { returnCode?: number }, client: Client) => {
      if ((connack.returnCode ?? 0) !== 0 || (client as ClientInternals).closed) return;
      for (const [filter, sub] of Object.entries((client as ClientInternals).subscriptions ?? {}))
        if (isSharedSubscription(filter)) this.join(client, filter, sub?.qos === 0 ? 0 : 1);
      // Any group it did not rejoin (a clean session under the same client id) awaits it no longer.
      this.returned(client.id);
    });
    aedes.on('clientDisconnect', (client: Client) => {
      for (const key of [...(this.byClient.get(client)?.keys() ?? [])]) this.leave(client, key, !client.clean);
    });
    // aedes tracks no QoS 1 delivery of a clean session; its PUBACK handler still clears the packet id in the
    // persistence, which is where a member's acknowledgement becomes visible.
    const persistence = (aedes as unknown as { persistence: PersistenceInternals }).persistence;
    const clear = persistence.outgoingClearMessageId.bind(persistence);
    persistence.outgoingClearMessageId = (client, packet) => {
      if (packet.messageId !== undefined) this.acknowledged(client, packet.messageId);
      return clear(client, packet);
    };
  }

  /** Members of `$share/<group>/<filter>` now connected (for tests and diagnostics). */
  memberCount(sharedFilter: string): number {
    return this.groups.get(sharedFilter)?.members.length ?? 0;
  }

  private join(client: Client, key: string, qos: 0 | 1): void {
    const parsed = parseSharedSubscription(key);
    if (parsed === undefined) return;
    let own = this.byClient.get(client);
    if (own === undefined) this.byClient.set(client, (own = new Map<string, Member>()));
    if (own.has(key)) return; // a repeated SUBSCRIBE replaces the grant; membership stays
    let group = this.groups.get(key);
    if (group === undefined) {
      const startsWithWildcard = parsed.filter.startsWith('+') || parsed.filter.startsWith('#');
      const created: Group = {
        key,
        filter: parsed.filter,
        members: [],
        next: 0,
        held: [],
        away: new Set(),
        subscribed: false,
        listener: (packet, cb) => {
          // MQTT 4.7.2: a filter starting with a wildcard does not match `$` topics.
          if (startsWithWildcard && packet.topic.startsWith('$')) {
            cb();
            return;
          }
          this.deliver(created, {
            topic: packet.topic,
            payload: packet.payload,
            qos: packet.qos === 0 ? 0 : 1,
          });
          cb();
        },
      };
      group = created;
      this.groups.set(key, group);
    }
    const member: Member = { client, qos, inFlight: new Map() };
    own.set(key, member);
    group.away.delete(client.id);
    group.members.push(member);
    if (!group.subscribed) {
      group.subscribed = true;
      this.aedes.subscribe(group.filter, group.listener, noop);
    }
    const held = group.held;
    group.held = [];
    for (const d of held) this.deliver(group, d);
  }

  /** `away`: a persistent session disconnected; it keeps its place (and the group its subscription). */
  private leave(client: Client, key: string, away: boolean): void {
    const own = this.byClient.get(client);
    const member = own?.get(key);
    const group = this.groups.get(key);
    if (own === undefined || member === undefined || group === undefined) return;
    own.delete(key);
    if (own.size === 0) this.byClient.delete(client);
    const i = group.members.indexOf(member);
    group.members.splice(i, 1);
    if (group.next > i) group.next--;
    const orphans = [...member.inFlight.values()];
    member.inFlight.clear();
    if (away && !group.members.some((m) => m.client.id === client.id)) group.away.add(client.id);
    this.unsubscribeIfIdle(group);
    if (orphans.length > 0)
      this.logger.debug(
        { group: key, clientId: client.id, redelivered: orphans.length },
        'shared subscription: handing over',
      );
    for (const d of orphans) this.deliver(group, d);
    if (group.members.length === 0 && group.away.size === 0 && group.held.length === 0) this.groups.delete(key);
  }

  private returned(clientId: string): void {
    for (const group of [...this.groups.values()]) {
      if (!group.away.delete(clientId)) continue;
      this.unsubscribeIfIdle(group);
      if (group.members.length === 0 && group.away.size === 0 && group.held.length === 0) this.groups.delete(group.key);
    }
  }

  /** A group with nobody connected and nobody coming back takes no more messages. */
  private unsubscribeIfIdle(group: Group): void {
    if (group.members.length === 0 && group.away.size === 0 && group.subscribed) {
      group.subscribed = false;
      this.aedes.unsubscribe(group.filter, group.listener, noop);
    }
  }

  private deliver(group: Group, delivery: Delivery): void {
    const member = this.pick(group);
    if (member === undefined) {
      if (delivery.qos === 0) return; // QoS 0 is at most once: nobody to hand it to
      group.held.push(delivery);
      if (group.held.length > this.maxHeld) {
        group.held.shift();
        this.logger.warn({ group: group.key }, 'shared subscription: no member, oldest held message dropped');
      }
      return;
    }
    const client = member.client as ClientInternals;
    const qos = Math.min(delivery.qos, member.qos);
    if (qos === 0) {
      client.deliver0(
        { cmd: 'publish', topic: delivery.topic, payload: delivery.payload, qos: 0, retain: false },
        noop,
      );
      return;
    }
    if (!client.clean) {
      // A persistent session: aedes queues the message in it and redelivers it when the session returns.
      client.publish(
        { cmd: 'publish', topic: delivery.topic, payload: delivery.payload, qos: 1, retain: false, dup: false },
        noop,
      );
      return;
    }
    // The packet identifier comes from the client's own counter, so it never collides with aedes's deliveries.
    const messageId = client._nextId;
    client._nextId = messageId >= MAX_PACKET_ID ? 1 : messageId + 1;
    member.inFlight.set(messageId, delivery);
    client.deliverQoS(
      {
        cmd: 'publish',
        topic: delivery.topic,
        payload: delivery.payload,
        qos: 1,
        retain: false,
        dup: false,
        messageId,
      },
      noop,
    );
  }

  private pick(group: Group): Member | undefined {
    for (let tried = 0; tried < group.members.length; tried++) {
      const i = group.next % group.members.length;
      group.next = i + 1;
      const member = group.members[i];
      if (member !== undefined && !(member.client as ClientInternals).closed) return member;
    }
    return undefined;
  }

  private acknowledged(client: Client, messageId: number): void {
    const own = this.byClient.get(client);
    if (own === undefined) return;
    for (const member of own.values()) if (member.inFlight.delete(messageId)) return;
  }
}

import type { Logger } from 'pino';
import { MAX_FILTERS_PER_SUBSCRIBE } from '@otafleet/protocol';
import type { InboundMessage, MessageHandler } from './message-bus.js';
import { MqttClientError } from './errors.js';
import { compileRoute } from './topic-rules.js';
import type { InboundPublish, SubscribeOutcome, TransportSession } from './transport.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** One filter the application wants: its handlers, and whether the current session has it granted. */
interface Entry {
  readonly filter: string;
  readonly qos: 0 | 1;
  /** Its handlers may see the next message before their promise for this one settles (BusSubscribeOptions). */
  readonly pipelined: boolean;
  readonly matches: (topic: string) => boolean;
  readonly handlers: MessageHandler[];
  /** Granted by the broker at least once (so a refusal on resubscription is a loss, not an answer). */
  granted: boolean;
  /** The session it is granted on; undefined while it waits for one. */
  activeOn: TransportSession | undefined;
  waiters: Waiter[];
}

/**
 * The application's subscriptions, kept across sessions: sent on subscribe when connected, again on every new
 * session that does not resume the old one, and used to route each inbound message to its handlers. Filters go
 * out together, up to MAX_FILTERS_PER_SUBSCRIBE per SUBSCRIBE: all of them on a new session, and those added in
 * one turn of the event loop's microtasks (a component subscribing its filters at once) while connected.
 */
export class SubscriptionTable {
  readonly #entries = new Map<string, Entry>();
  readonly #logger: Logger;
  #current: TransportSession | undefined;
  /** Added while connected, to go out in the next SUBSCRIBE on #current. */
  #unsent: Entry[] = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Adds `handler`; resolves once the filter is granted (now, or on the next session). */
  add(filter: string, handler: MessageHandler, qos: 0 | 1, pipelined = false): Promise<void> {
    const existing = this.#entries.get(filter);
    if (existing !== undefined) {
      if (existing.pipelined !== pipelined)
        return Promise.reject(
          new MqttClientError(
            'InvalidOptions',
            `${filter} is already subscribed ${existing.pipelined ? 'pipelined' : 'in order'}; one filter, one way`,
          ),
        );
      existing.handlers.push(handler);
      if (existing.activeOn !== undefined) return Promise.resolve();
      return new Promise((resolve, reject) => existing.waiters.push({ resolve, reject }));
    }
    const entry: Entry = {
      filter,
      qos,
      pipelined,
      matches: compileRoute(filter),
      handlers: [handler],
      granted: false,
      activeOn: undefined,
      waiters: [],
    };
    this.#entries.set(filter, entry);
    const active = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    const session = this.#current;
    if (session !== undefined && this.#unsent.push(entry) === 1)
      queueMicrotask(() => {
        if (session !== this.#current) return; // activate() sent them on the new session
        void this.#sendAll(this.#unsent.splice(0), session);
      });
    return active;
  }

  /** Removes `handler` (all handlers when absent); true when no handler is left for `filter`. */
  remove(filter: string, handler: MessageHandler | undefined): boolean {
    const entry = this.#entries.get(filter);
    if (entry === undefined) return false;
    if (handler !== undefined) {
      const i = entry.handlers.indexOf(handler);
      if (i !== -1) entry.handlers.splice(i, 1);
    } else entry.handlers.length = 0;
    if (entry.handlers.length > 0) return false;
    this.#entries.delete(filter);
    const closed = new MqttClientError('Closed', `unsubscribed from ${filter} before the broker granted it`);
    for (const w of entry.waiters.splice(0)) w.reject(closed);
    return true;
  }

  /**
   * Makes every filter active on a new `session`: all of them, or only the never-granted ones when the broker
   * resumed the session (it kept the rest). Resolves when every SUBACK is in.
   */
  async activate(session: TransportSession): Promise<void> {
    this.#current = session;
    this.#unsent = [];
    const toSend = [...this.#entries.values()].filter((e) => !(session.sessionPresent && e.granted));
    for (const e of this.#entries.values()) if (!toSend.includes(e)) this.#markActive(e, session);
    await this.#sendAll(toSend, session);
  }

  /** The session went away: every filter waits for the next one. */
  deactivate(): void {
    this.#current = undefined;
    this.#unsent = [];
    for (const e of this.#entries.values()) e.activeOn = undefined;
  }

  /** Rejects every waiting subscribe and forgets every filter. */
  clear(reason: MqttClientError): void {
    this.#current = undefined;
    this.#unsent = [];
    for (const e of this.#entries.values()) for (const w of e.waiters.splice(0)) w.reject(reason);
    this.#entries.clear();
  }

  /** Which kinds of handler `topic` has: in order (wait for the previous message's), pipelined (at once). */
  routesOf(topic: string): { readonly ordered: boolean; readonly pipelined: boolean } {
    let ordered = false;
    let pipelined = false;
    for (const entry of this.#entries.values()) {
      if (!entry.matches(topic) || entry.handlers.length === 0) continue;
      if (entry.pipelined) pipelined = true;
      else ordered = true;
    }
    return { ordered, pipelined };
  }

  /**
   * Runs the handlers (the pipelined or the in-order ones) of every filter matching the topic, in subscription
   * order. Returns a promise only when a handler did (that promise is what delays the PUBACK); a failing handler
   * is logged, never thrown, and the promise never rejects.
   */
  dispatch(publish: InboundPublish, pipelined: boolean): Promise<void> | undefined {
    const message: InboundMessage = { topic: publish.topic, payload: publish.payload };
    let pending: Promise<void>[] | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.pipelined !== pipelined || !entry.matches(publish.topic)) continue;
      for (const handler of [...entry.handlers]) {
        try {
          const result = handler(message);
          if (result instanceof Promise) (pending ??= []).push(result.catch((e: unknown) => this.#failed(e, publish)));
        } catch (e) {
          this.#failed(e, publish);
        }
      }
    }
    return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
  }

  #failed(e: unknown, publish: InboundPublish): void {
    this.#logger.error({ err: e, topic: publish.topic }, 'mqtt: message handler failed');
  }

  #markActive(entry: Entry, session: TransportSession): void {
    if (session !== this.#current) return; // answered on a session that is gone: sent again on the next
    entry.granted = true;
    entry.activeOn = session;
    for (const w of entry.waiters.splice(0)) w.resolve();
  }

  async #sendAll(entries: readonly Entry[], session: TransportSession): Promise<void> {
    const batches: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += MAX_FILTERS_PER_SUBSCRIBE)
      batches.push(this.#send(entries.slice(i, i + MAX_FILTERS_PER_SUBSCRIBE), session));
    await Promise.all(batches);
  }

  /** One SUBSCRIBE: each granted filter becomes active, each refused one is dropped and its waiters rejected. */
  async #send(batch: readonly Entry[], session: TransportSession): Promise<void> {
    let outcomes: readonly SubscribeOutcome[];
    try {
      outcomes = await session.subscribe(batch.map((e) => ({ filter: e.filter, qos: e.qos })));
    } catch {
      return; // the session dropped: sent again on the next
    }
    batch.forEach((entry, i) => {
      if (this.#entries.get(entry.filter) !== entry) return; // unsubscribed meanwhile
      const refusal = outcomes[i];
      if (refusal === undefined) {
        this.#markActive(entry, session);
        return;
      }
      if (session !== this.#current) return;
      this.#entries.delete(entry.filter);
      if (entry.granted)
        this.#logger.error(
          { filter: entry.filter, err: refusal.message },
          'mqtt: broker refused a resubscription, dropped it',
        );
      for (const w of entry.waiters.splice(0)) w.reject(refusal);
    });
  }
}

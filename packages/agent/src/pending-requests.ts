import { randomUUID } from 'node:crypto';
import type { Clock, MqttConnection, PublishOptions, SubscribeOptions, TimerHandle } from '@otafleet/mqtt-client';

/**
 * How the Shadow and Jobs clients subscribe to the answers of their own requests (accepted/rejected): QoS 0.
 * An answer only settles the request waiting for it, matched by clientToken, and a request whose answer does not
 * come is asked again (below). QoS 1 would buy nothing for that (the agent's sessions are clean, so nothing is
 * queued for it while away) and cost a PUBACK per answer plus the broker's in-flight bookkeeping. What no request
 * waits for, notify-next and the deltas, stays at QoS 1.
 */
export const ANSWER_SUBSCRIPTION: SubscribeOptions = Object.freeze({ qos: 0 });

/**
 * The requests themselves go at QoS 0 too. A PUBACK would only say the broker took the request, which its answer
 * says as well; what QoS 1 adds, a resend on the next session, PendingRequests does itself and better: it asks
 * again every request still waiting when a new session comes up, also one the broker took whose answer the dropped
 * session lost (QoS 1 would wait out the timeout for that one).
 */
const REQUEST_PUBLISH: PublishOptions = Object.freeze({ qos: 0 });

interface Pending<M, A> {
  readonly meta: M;
  readonly topic: string;
  readonly payload: string;
  readonly resolve: (answer: A) => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
  /** Written on a session (a QoS 0 publish resolves then). Not yet: it waits in the connection's queue. */
  written: boolean;
}

export interface PendingRequestsOptions {
  readonly connection: MqttConnection;
  readonly clock: Clock;
  /** How long an answer may take, counted from the first ask, before the request counts as lost. */
  readonly timeoutMs: number;
  /** The error a request rejects with when its answer did not come in time, or the client closed. */
  readonly lost: (message: string) => Error;
}

/**
 * The requests of one client that wait for their answers, each under a fresh clientToken (`M`: what the client
 * needs to check the answer against, `A`: what the request resolves to). Every request still waiting when a new
 * session comes up is asked again with the same clientToken, so whichever answer arrives first settles it and a
 * second one finds nothing waiting; the Shadow and Jobs APIs answer a repeated request as they would the first
 * (a repeated update is checked against the version or status it names).
 */
export class PendingRequests<M, A> {
  readonly #o: PendingRequestsOptions;
  readonly #pending = new Map<string, Pending<M, A>>();
  readonly #stopWatching: () => void;

  constructor(options: PendingRequestsOptions) {
    this.#o = options;
    this.#stopWatching = options.connection.onStateChange((state) => {
      if (state.kind === 'connected') this.#askAgain();
    });
  }

  /** Publishes `body` with a new clientToken and resolves with the answer settle() is given; `what` names it in errors. */
  ask(topic: string, body: object, meta: M, what: string): Promise<A> {
    const { clock, timeoutMs, lost } = this.#o;
    const clientToken = randomUUID();
    return new Promise<A>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.#pending.delete(clientToken);
        reject(lost(`no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const payload = JSON.stringify({ ...body, clientToken });
      const p: Pending<M, A> = { meta, topic, payload, resolve, reject, timer, written: false };
      this.#pending.set(clientToken, p);
      this.#send(clientToken, p);
    });
  }

  /** What the request waiting under `token` was asked with; undefined for another client's token or a late answer. */
  metaOf(token: unknown): M | undefined {
    return typeof token === 'string' ? this.#pending.get(token)?.meta : undefined;
  }

  /** Resolves the request waiting under `token` with `answer`; nothing when none waits. */
  settle(token: string, answer: A): void {
    const p = this.#pending.get(token);
    if (p === undefined) return;
    this.#pending.delete(token);
    this.#o.clock.clearTimeout(p.timer);
    p.resolve(answer);
  }

  /** Rejects every request still waiting and stops asking again (the client is closing). */
  close(reason: string): void {
    this.#stopWatching();
    for (const [token, p] of this.#pending) {
      this.#pending.delete(token);
      this.#o.clock.clearTimeout(p.timer);
      p.reject(this.#o.lost(reason));
    }
  }

  #send(token: string, p: Pending<M, A>): void {
    this.#o.connection.publish(p.topic, p.payload, REQUEST_PUBLISH).then(
      () => {
        p.written = true;
      },
      (e: unknown) => {
        if (this.#pending.get(token) !== p) return;
        this.#pending.delete(token);
        this.#o.clock.clearTimeout(p.timer);
        p.reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /**
   * A new session is up, its subscriptions active, its queue not yet sent: what was written on an earlier one is
   * asked again (it or its answer may have been lost with that session); what was never written goes out with the
   * queue anyway.
   */
  #askAgain(): void {
    for (const [token, p] of this.#pending) {
      if (!p.written) continue;
      p.written = false;
      this.#send(token, p);
    }
  }
}

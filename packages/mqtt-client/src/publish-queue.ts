import { MqttClientError } from './errors.js';
import type { TransportSession } from './transport.js';

interface PendingPublish {
  readonly seq: number;
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: 0 | 1;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  /** Sessions it was sent on that went away before PUBACK. */
  lostDeliveries: number;
  sentOn: TransportSession | undefined;
}

/**
 * Publishes not yet acknowledged: queued while there is no session, sent in order when one comes up, and sent
 * again (at least once) when the session drops before PUBACK. A message that was in flight on
 * `maxAttempts` sessions that all dropped is refused: MQTT 3.1.1 brokers (AWS IoT, the local core's aedes)
 * answer an unauthorized publish by closing the connection, so this is how such a refusal shows.
 */
export class PublishQueue {
  #seq = 0;
  #waiting: PendingPublish[] = [];
  readonly #inFlight = new Set<PendingPublish>();
  readonly #maxQueued: number;
  readonly #maxAttempts: number;
  #session: TransportSession | undefined;

  constructor(maxQueued: number, maxAttempts: number) {
    this.#maxQueued = maxQueued;
    this.#maxAttempts = maxAttempts;
  }

  get size(): number {
    return this.#waiting.length + this.#inFlight.size;
  }

  publish(topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void> {
    if (this.size >= this.#maxQueued)
      return Promise.reject(
        new MqttClientError('QueueFull', `${this.size} publishes already wait for the broker (maxQueuedPublishes)`),
      );
    return new Promise((resolve, reject) => {
      const p: PendingPublish = {
        seq: this.#seq++,
        topic,
        payload,
        qos,
        resolve,
        reject,
        lostDeliveries: 0,
        sentOn: undefined,
      };
      if (this.#session === undefined) this.#waiting.push(p);
      else this.#send(p, this.#session);
    });
  }

  /** A session is up (and resubscribed): send everything waiting, oldest first. */
  attach(session: TransportSession): void {
    this.#session = session;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const p of waiting) this.#send(p, session);
  }

  /** The session went away: what was in flight on it waits again (in its original order), or is refused. */
  detach(): void {
    const lost = this.#session;
    this.#session = undefined;
    if (lost === undefined) return;
    const requeued: PendingPublish[] = [];
    for (const p of this.#inFlight) {
      if (p.sentOn !== lost) continue;
      this.#inFlight.delete(p);
      p.sentOn = undefined;
      p.lostDeliveries++;
      if (p.qos === 1 && p.lostDeliveries >= this.#maxAttempts)
        p.reject(
          new MqttClientError(
            'PublishRefused',
            `the connection closed each of the ${p.lostDeliveries} times a publish to ${p.topic} was in flight: ` +
              'the broker most likely refuses it (MQTT 3.1.1 brokers disconnect instead of answering)',
          ),
        );
      else requeued.push(p);
    }
    this.#waiting = [...requeued, ...this.#waiting].sort((a, b) => a.seq - b.seq);
  }

  /** Rejects everything with `reason`. */
  clear(reason: MqttClientError): void {
    const all = [...this.#inFlight, ...this.#waiting];
    this.#inFlight.clear();
    this.#waiting = [];
    this.#session = undefined;
    for (const p of all) p.reject(reason);
  }

  #send(p: PendingPublish, session: TransportSession): void {
    p.sentOn = session;
    this.#inFlight.add(p);
    session.publish(p.topic, p.payload, p.qos).then(
      () => {
        if (p.sentOn !== session) return; // settled on a session already given up: it was queued again
        this.#inFlight.delete(p);
        p.resolve();
      },
      (e: unknown) => {
        if (p.sentOn !== session) return;
        // Anything but a refusal means the session is going away: detach() queues it again.
        if (e instanceof MqttClientError && e.code === 'PublishRefused') {
          this.#inFlight.delete(p);
          p.reject(e);
        }
      },
    );
  }
}

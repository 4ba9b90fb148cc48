import {
  parseJsonPayload,
  parseShadowTopic,
  shadowTopic,
  shadowTopicPrefix,
  shadowValidators,
  type ShadowDelta,
  type ShadowErrorResponse,
  type ShadowGetAccepted,
  type ShadowResponseType,
  type ShadowSection,
  type ShadowUpdateAccepted,
} from '@otafleet/protocol';
import type { Clock, InboundMessage, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { OnceUntilRejected } from '../once-until-rejected.js';
import { ANSWER_SUBSCRIPTION, PendingRequests } from '../pending-requests.js';

/** The Shadow service did not answer in time (a dropped connection loses the answer): ask again. */
export class ShadowRequestTimeout extends Error {
  override readonly name = 'ShadowRequestTimeout';
}

export type ShadowAnswer<T> =
  | { readonly kind: 'accepted'; readonly response: T }
  | { readonly kind: 'rejected'; readonly error: ShadowErrorResponse };

/** The answers to this device's own updates; update/delta comes from anyone's. */
const OWN_UPDATE_ANSWERS: readonly ShadowResponseType[] = ['accepted', 'rejected'];

/** A document holds 8 KB of state plus metadata; anything far past that is not the Shadow service's. */
const MAX_ANSWER_BYTES = 64 * 1024;

type RequestOperation = 'get' | 'update';

export interface ShadowClientOptions {
  readonly connection: MqttConnection;
  readonly thingName: string;
  /** Absent: the classic shadow. */
  readonly shadowName?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long an answer may take before the request counts as lost (default 15 s). */
  readonly requestTimeoutMs?: number;
  /**
   * When to subscribe to update/accepted and update/rejected: at start (the default), or before the first update
   * for a shadow the device seldom updates (the configuration shadow answers only when a desired configuration
   * arrives): two filters fewer held per device until then, for one SUBACK round trip before that first update.
   */
  readonly updateAnswers?: 'at-start' | 'at-first-update';
}

/**
 * The device side of the Device Shadow MQTT API for one shadow: get and update with a clientToken, answers
 * matched by it (shadow answers reach every subscriber, so another client's answer is ignored), deltas passed to
 * listeners. Every payload is checked against protocol's schemas; one that is not JSON or does not validate is
 * logged and dropped. Handlers only settle promises: nothing here waits on the connection inside a handler.
 * https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html
 */
export class ShadowClient {
  readonly #o: ShadowClientOptions;
  readonly #pending: PendingRequests<RequestOperation, ShadowAnswer<unknown>>;
  readonly #deltaListeners = new Set<(delta: ShadowDelta) => void>();
  readonly #handler = (m: InboundMessage): void => this.#onMessage(m);
  /** update/accepted and update/rejected, subscribed at start or before the first update (updateAnswers). */
  readonly #updateAnswers = new OnceUntilRejected();

  constructor(options: ShadowClientOptions) {
    this.#o = options;
    this.#pending = new PendingRequests({
      connection: options.connection,
      clock: options.clock,
      timeoutMs: options.requestTimeoutMs ?? 15_000,
      lost: (message) => new ShadowRequestTimeout(message),
    });
  }

  /** `classic` or the shadow's name, for logs. */
  get label(): string {
    return this.#o.shadowName ?? 'classic';
  }

  /**
   * Subscribes to get/+ (accepted, rejected), update/delta and, unless `updateAnswers` defers them, update/accepted
   * and update/rejected; resolves once granted. The answers at QoS 0 (ANSWER_SUBSCRIPTION), the delta at QoS 1. Not update/documents: the service publishes one (the whole document
   * twice) on every update, and nothing here reads it.
   */
  async start(): Promise<void> {
    const { thingName, shadowName, connection } = this.#o;
    const updateAnswers = this.#o.updateAnswers === 'at-first-update' ? [] : [this.#subscribeUpdateAnswers()];
    await Promise.all([
      connection.subscribe(`${shadowTopicPrefix(thingName, shadowName)}/get/+`, this.#handler, ANSWER_SUBSCRIPTION),
      connection.subscribe(this.#updateTopic('delta'), this.#handler),
      ...updateAnswers,
    ]);
  }

  #updateTopic(responseType: ShadowResponseType): string {
    const { thingName, shadowName } = this.#o;
    return shadowTopic({
      thingName,
      ...(shadowName === undefined ? {} : { shadowName }),
      operation: 'update',
      responseType,
    });
  }

  /** update/accepted and update/rejected, subscribed once (again after a failed attempt). */
  #subscribeUpdateAnswers(): Promise<void> {
    return this.#updateAnswers.run(async () => {
      await Promise.all(
        OWN_UPDATE_ANSWERS.map((r) =>
          this.#o.connection.subscribe(this.#updateTopic(r), this.#handler, ANSWER_SUBSCRIPTION),
        ),
      );
    });
  }

  onDelta(listener: (delta: ShadowDelta) => void): () => void {
    this.#deltaListeners.add(listener);
    return () => this.#deltaListeners.delete(listener);
  }

  get(): Promise<ShadowAnswer<ShadowGetAccepted>> {
    return this.#request('get', {}) as Promise<ShadowAnswer<ShadowGetAccepted>>;
  }

  /** `version`, when given, must equal the stored one, else the answer is 409 Version conflict. */
  async update(request: {
    readonly state: { readonly reported?: ShadowSection | null; readonly desired?: ShadowSection | null };
    readonly version?: number;
  }): Promise<ShadowAnswer<ShadowUpdateAccepted>> {
    if (this.#o.updateAnswers === 'at-first-update') await this.#subscribeUpdateAnswers();
    return (await this.#request('update', request)) as ShadowAnswer<ShadowUpdateAccepted>;
  }

  /** Rejects every request still waiting (its subscriptions end with the connection). */
  close(): void {
    this.#pending.close('the shadow client closed');
  }

  #request(operation: RequestOperation, body: object): Promise<ShadowAnswer<unknown>> {
    const { thingName, shadowName } = this.#o;
    const topic = shadowTopic({ thingName, operation, ...(shadowName === undefined ? {} : { shadowName }) });
    return this.#pending.ask(topic, body, operation, `shadow ${operation} (${this.label})`);
  }

  #onMessage(m: InboundMessage): void {
    const { logger, thingName, shadowName } = this.#o;
    const topic = parseShadowTopic(m.topic);
    if (!topic.ok || topic.value.thingName !== thingName || topic.value.shadowName !== shadowName) return;
    const { operation, responseType } = topic.value;
    if (responseType === undefined || responseType === 'documents') return;
    const json = parseJsonPayload(m.payload, MAX_ANSWER_BYTES);
    if (!json.ok) {
      logger.warn({ topic: m.topic, error: json.error }, 'shadow message is not JSON; ignored');
      return;
    }
    if (responseType === 'delta') {
      const delta = shadowValidators.delta.validate(json.value);
      if (!delta.ok) {
        logger.warn({ topic: m.topic, issues: delta.error }, 'invalid shadow delta; ignored');
        return;
      }
      for (const l of this.#deltaListeners) l(delta.value);
      return;
    }
    const token = (json.value as { clientToken?: unknown }).clientToken;
    if (this.#pending.metaOf(token) !== operation) return; // another client's, or too late
    const validator =
      responseType === 'rejected'
        ? shadowValidators.errorResponse
        : operation === 'get'
          ? shadowValidators.getAccepted
          : shadowValidators.updateAccepted;
    const checked = validator.validate(json.value);
    if (!checked.ok) {
      logger.warn({ topic: m.topic, issues: checked.error }, 'invalid shadow answer; ignored');
      return;
    }
    this.#pending.settle(
      token as string,
      responseType === 'rejected'
        ? { kind: 'rejected', error: checked.value as ShadowErrorResponse }
        : { kind: 'accepted', response: checked.value },
    );
  }
}

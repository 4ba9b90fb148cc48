import { pino, type Logger } from 'pino';
import { backoffDelayMs, resolveBackoffPolicy, type BackoffPolicy } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  nextConnectionState,
  type ConnectionEvent,
  type ConnectionState,
  type ConnectionStateKind,
  type MqttProtocolVersion,
} from './connection-state.js';
import { isFatalConnectError, MqttClientError } from './errors.js';
import type { BusSubscribeOptions, MessageBus, MessageHandler, PublishOptions } from './message-bus.js';
import { PublishQueue } from './publish-queue.js';
import { SubscriptionTable } from './subscriptions.js';
import { assertPublishTopic, routingFilterOf } from './topic-rules.js';
import type {
  InboundHandling,
  InboundPublish,
  LastWill,
  MqttTransport,
  SessionRequest,
  TransportSession,
} from './transport.js';

export interface MqttConnectionOptions {
  readonly transport: MqttTransport;
  /** A device connects with its thing name (AWS IoT's usual policy requires it). */
  readonly clientId: string;
  /** 'auto' (default): MQTT 5, falling back to 3.1.1 for good when the broker refuses 5 (aedes). */
  readonly protocolVersion?: MqttProtocolVersion | 'auto';
  /** Default true. False: a persistent session (MQTT 5: kept `sessionExpirySeconds` after a disconnect). */
  readonly cleanSession?: boolean;
  /** MQTT 5 session expiry of a persistent session. Default 3600 (AWS IoT's default maximum). */
  readonly sessionExpirySeconds?: number;
  /** Default 30 s (AWS IoT accepts 30 to 1200). */
  readonly keepaliveSeconds?: number;
  readonly will?: LastWill;
  readonly backoff?: Partial<BackoffPolicy>;
  /** One attempt's deadline for CONNACK (and resubscription), on the clock. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Publishes allowed to wait for a connection or an acknowledgement. Default 10,000. */
  readonly maxQueuedPublishes?: number;
  /** Sessions a QoS 1 publish may be in flight on that all drop before it is refused. Default 3. */
  readonly maxPublishAttempts?: number;
  readonly clock?: Clock;
  /** Jitter source, [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Default: a pino logger named mqtt-client. */
  readonly logger?: Logger;
}

export type StateListener = (state: ConnectionState, previous: ConnectionState) => void;

export interface SubscribeOptions extends BusSubscribeOptions {
  /** Default 1. */
  readonly qos?: 0 | 1;
}

/** The one MQTT client of this system: a MessageBus that reconnects by itself. */
export interface MqttConnection extends MessageBus {
  readonly clientId: string;
  readonly transport: MqttTransport;
  readonly state: ConnectionState;
  /** The MQTT version of the current or last session; undefined before the first one. */
  readonly protocolVersion: MqttProtocolVersion | undefined;
  /** Leaves idle and connects, retrying with backoff until close(). No effect in any other state. */
  start(): void;
  /** Called on every state change, after the state is set. Returns the function that removes the listener. */
  onStateChange(listener: StateListener): () => void;
  /**
   * The current state when it is of `kind`, else the next one that is. Rejects Closed when the connection
   * closes first (unless `kind` is 'closed').
   */
  waitFor<K extends ConnectionStateKind>(kind: K): Promise<Extract<ConnectionState, { kind: K }>>;
  /**
   * Resolves once the broker granted `filter` (a `$share/<group>/` prefix is allowed). Made while not
   * connected, it waits for the next connection. The handler sees every message whose topic matches; a handler
   * that returns a promise delays that message's PUBACK until it settles (see README: do not return a promise
   * that waits on this same connection's publish).
   */
  subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<void>;
  /** Removes `handler` (every handler of `filter` when absent); UNSUBSCRIBE goes out when none is left. */
  unsubscribe(filter: string, handler?: MessageHandler): Promise<void>;
  /**
   * QoS 1 (default): resolves on PUBACK, after waiting for a connection if there is none; rejects PublishRefused,
   * QueueFull, InvalidTopic or Closed. QoS 0: resolves once written.
   */
  publish(topic: string, payload: Buffer | string, options?: PublishOptions): Promise<void>;
  /** DISCONNECT (no last will), rejects what is pending with Closed. Idempotent. */
  close(): Promise<void>;
}

let defaultLogger: Logger | undefined;
const CLOSE_TIMEOUT_MS = 5_000;

const positiveInt = (value: number, name: string, min = 1): number => {
  if (!Number.isInteger(value) || value < min)
    throw new MqttClientError('InvalidOptions', `${name} must be an integer >= ${min}, got ${value}`);
  return value;
};

const asMqttError = (e: unknown, fallback: string): MqttClientError =>
  e instanceof MqttClientError
    ? e
    : new MqttClientError('ConnectFailed', `${fallback}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

/** A connection in `idle`; start() connects. Throws InvalidOptions for options that cannot work. */
export function createMqttConnection(options: MqttConnectionOptions): MqttConnection {
  const { transport } = options;
  if (typeof options.clientId !== 'string' || options.clientId.length === 0)
    throw new MqttClientError('InvalidOptions', 'clientId must be a non-empty string (a device uses its thing name)');
  const requested = options.protocolVersion ?? 'auto';
  if (requested !== 'auto' && requested !== 4 && requested !== 5)
    throw new MqttClientError('InvalidOptions', `protocolVersion must be 4, 5 or 'auto', got ${String(requested)}`);
  const policy = resolveBackoffPolicy(options.backoff);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = (options.logger ?? (defaultLogger ??= pino({ name: 'mqtt-client' }))).child({
    clientId: options.clientId,
    endpoint: transport.endpoint,
  });
  const connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
  const request: Omit<SessionRequest, 'protocolVersion'> = {
    clientId: options.clientId,
    clean: options.cleanSession ?? true,
    sessionExpirySeconds: positiveInt(options.sessionExpirySeconds ?? 3600, 'sessionExpirySeconds', 0),
    keepaliveSeconds: positiveInt(options.keepaliveSeconds ?? 30, 'keepaliveSeconds', 0),
    connectTimeoutMs: 2 * connectTimeoutMs, // the transport's own timer is only a backstop to ours
    ...(options.will === undefined ? {} : { will: options.will }),
  };
  if (options.will !== undefined) assertPublishTopic(options.will.topic);

  let state: ConnectionState = { kind: 'idle' };
  let version: MqttProtocolVersion = requested === 'auto' ? 5 : requested;
  let lastVersion: MqttProtocolVersion | undefined;
  let session: TransportSession | undefined;
  let attemptAbort: AbortController | undefined;
  let timer: TimerHandle | undefined;
  let connectionCount = 0;
  let generation = 0; // bumped whenever the current attempt or session is given up: late callbacks see it
  let closing: Promise<void> | undefined;
  let inbound: Promise<void> | undefined; // in-order handlers still running: the next such message waits
  const listeners = new Set<StateListener>();
  const subscriptions = new SubscriptionTable(logger);
  const publishes = new PublishQueue(
    positiveInt(options.maxQueuedPublishes ?? 10_000, 'maxQueuedPublishes'),
    positiveInt(options.maxPublishAttempts ?? 3, 'maxPublishAttempts'),
  );

  const cancelTimer = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };

  const apply = (event: ConnectionEvent): boolean => {
    const next = nextConnectionState(state, event);
    if (next === undefined) return false;
    const previous = state;
    state = next;
    enter(next);
    for (const listener of [...listeners]) {
      try {
        listener(next, previous);
      } catch (e) {
        logger.error({ err: e }, 'mqtt: state listener failed');
      }
    }
    return true;
  };

  const fail = (reason: MqttClientError): void => {
    if (isFatalConnectError(reason)) {
      logger.error({ code: reason.code, err: reason.message }, 'mqtt: refused for good, closing');
      void shutdown(reason);
      return;
    }
    apply({
      type: 'failed',
      reason,
      at: clock.now(),
      delayMs: (attempt) => backoffDelayMs(attempt, policy, random),
      resetAfterConnectedMs: policy.resetAfterConnectedMs,
    });
  };

  const dropSession = (): void => {
    session = undefined;
    subscriptions.deactivate();
    publishes.detach();
  };

  // Pipelined handlers run at once; in-order ones after the previous in-order message's handlers settled.
  const onMessage = (publish: InboundPublish): InboundHandling | undefined => {
    const routes = subscriptions.routesOf(publish.topic);
    const now = routes.pipelined ? subscriptions.dispatch(publish, true) : undefined;
    let ordered: Promise<void> | undefined;
    if (routes.ordered) {
      if (inbound === undefined) ordered = subscriptions.dispatch(publish, false);
      else ordered = inbound.then(() => subscriptions.dispatch(publish, false));
      if (ordered !== undefined) {
        const running = ordered;
        inbound = running;
        void running.then(() => {
          if (inbound === running) inbound = undefined;
        });
      }
    }
    if (ordered === undefined) return now === undefined ? undefined : { settled: now, pipelined: true };
    return {
      settled: now === undefined ? ordered : Promise.all([now, ordered]).then(() => undefined),
      pipelined: false,
    };
  };

  const attempt = (): void => {
    const gen = ++generation;
    const current = (): boolean => gen === generation;
    const abort = new AbortController();
    attemptAbort = abort;
    const protocolVersion = version;
    let opened: TransportSession | undefined;
    const giveUp = (reason: MqttClientError): void => {
      if (!current()) return;
      generation++;
      cancelTimer();
      attemptAbort = undefined;
      abort.abort(reason);
      opened?.destroy();
      dropSession();
      if (reason.code === 'UnsupportedProtocolVersion' && requested === 'auto' && protocolVersion === 5) {
        logger.info('mqtt: broker refused MQTT 5, using 3.1.1');
        version = 4;
        apply({ type: 'fallback', protocolVersion: 4 });
        return;
      }
      logger.warn({ code: reason.code, err: reason.message }, 'mqtt: connect attempt failed');
      fail(reason);
    };
    timer = clock.setTimeout(() => {
      timer = undefined;
      giveUp(
        new MqttClientError(
          'ConnectFailed',
          `${transport.endpoint} did not accept the connection within ${connectTimeoutMs} ms`,
        ),
      );
    }, connectTimeoutMs);
    const events = {
      message: (publish: InboundPublish) => (current() ? onMessage(publish) : undefined),
      lost: (reason: Error) => {
        if (!current()) return;
        if (state.kind !== 'connected') {
          giveUp(asMqttError(reason, 'connection lost during connect'));
          return;
        }
        generation++;
        opened?.destroy();
        dropSession();
        logger.warn({ err: reason.message }, 'mqtt: connection lost');
        fail(asMqttError(reason, 'connection lost'));
      },
    };
    transport
      .open({ ...request, protocolVersion }, events, abort.signal)
      .then(async (s) => {
        opened = s;
        if (!current()) {
          s.destroy();
          return;
        }
        session = s;
        lastVersion = s.protocolVersion;
        await subscriptions.activate(s); // "connected" promises every subscription active
        if (!current()) return;
        cancelTimer();
        attemptAbort = undefined;
        connectionCount++;
        logger.info(
          {
            protocolVersion: s.protocolVersion,
            sessionPresent: s.sessionPresent,
            connectionCount,
            subscriptions: subscriptions.size,
          },
          'mqtt: connected',
        );
        if (apply({ type: 'connected', sessionPresent: s.sessionPresent, at: clock.now(), connectionCount }))
          publishes.attach(s);
      })
      .catch((e: unknown) => giveUp(asMqttError(e, `could not connect to ${transport.endpoint}`)));
  };

  /** Effects of entering a state: the one place timers start. */
  const enter = (s: ConnectionState): void => {
    switch (s.kind) {
      case 'connecting':
        attempt();
        return;
      case 'backoff':
        logger.info({ attempt: s.attempt, delayMs: s.delayMs }, 'mqtt: reconnecting after backoff');
        timer = clock.setTimeout(() => {
          timer = undefined;
          apply({ type: 'retry', protocolVersion: version });
        }, s.delayMs);
        return;
      case 'idle':
      case 'connected':
      case 'closed':
        return;
    }
  };

  const shutdown = (reason?: MqttClientError): Promise<void> =>
    (closing ??= (async () => {
      generation++;
      cancelTimer();
      attemptAbort?.abort(new MqttClientError('Closed', 'the connection is closed'));
      attemptAbort = undefined;
      const last = session;
      session = undefined;
      const closed = reason ?? new MqttClientError('Closed', 'the connection is closed');
      apply(reason === undefined ? { type: 'close' } : { type: 'close', reason });
      publishes.clear(closed);
      subscriptions.clear(closed);
      if (last === undefined) return;
      await new Promise<void>((resolve) => {
        const backstop = clock.setTimeout(() => {
          last.destroy();
          resolve();
        }, CLOSE_TIMEOUT_MS);
        last.end().then(
          () => {
            clock.clearTimeout(backstop);
            resolve();
          },
          () => {
            clock.clearTimeout(backstop);
            last.destroy();
            resolve();
          },
        );
      });
    })());

  const onStateChange = (listener: StateListener): (() => void) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  };

  const closedError = (): MqttClientError =>
    state.kind === 'closed' && state.reason !== undefined
      ? new MqttClientError('Closed', `the connection is closed (${state.reason.code}: ${state.reason.message})`)
      : new MqttClientError('Closed', 'the connection is closed');

  return {
    clientId: options.clientId,
    transport,
    get state() {
      return state;
    },
    get protocolVersion() {
      return lastVersion;
    },
    start() {
      apply({ type: 'start', protocolVersion: version });
    },
    onStateChange,
    waitFor<K extends ConnectionStateKind>(kind: K): Promise<Extract<ConnectionState, { kind: K }>> {
      type Wanted = Extract<ConnectionState, { kind: K }>;
      const is = (s: ConnectionState): s is Wanted => s.kind === kind;
      if (is(state)) return Promise.resolve(state);
      if (state.kind === 'closed') return Promise.reject(closedError());
      return new Promise((resolve, reject) => {
        const off = onStateChange((s) => {
          if (is(s)) {
            off();
            resolve(s);
          } else if (s.kind === 'closed') {
            off();
            reject(closedError());
          }
        });
      });
    },
    subscribe(filter, handler, subscribeOptions = {}) {
      if (state.kind === 'closed') return Promise.reject(closedError());
      try {
        routingFilterOf(filter);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return subscriptions.add(filter, handler, subscribeOptions.qos ?? 1, subscribeOptions.pipelined ?? false);
    },
    async unsubscribe(filter, handler) {
      if (!subscriptions.remove(filter, handler) || session === undefined) return;
      await session.unsubscribe(filter).catch((e: unknown) => {
        logger.warn({ filter, err: e instanceof Error ? e.message : String(e) }, 'mqtt: unsubscribe not acknowledged');
      });
    },
    publish(topic, payload, publishOptions = {}) {
      if (state.kind === 'closed') return Promise.reject(closedError());
      try {
        assertPublishTopic(topic);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return publishes.publish(topic, payload, publishOptions.qos ?? 1);
    },
    close: () => shutdown(),
  };
}

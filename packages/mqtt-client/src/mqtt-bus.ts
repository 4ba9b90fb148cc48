import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { InboundMessage, MessageBus, MessageHandler, PublishOptions } from './message-bus.js';
import { compileTopicFilter } from '@otafleet/protocol';

/**
 * The bus over an external broker (Mosquitto, EMQX, AWS IoT Core...) through MQTT.js, as a privileged
 * client. QoS 1 both ways. A QoS 1 message is acknowledged (PUBACK) only after its handlers have
 * finished, so a handler that commits before resolving gets "durable before acknowledged"; messages are
 * therefore handled one at a time per connection.
 *
 * Reconnection is ours, not MQTT.js's fixed 1 s timer: capped exponential backoff with jitter, one
 * attempt at a time; after each reconnect every filter is subscribed again (clean sessions), and QoS 1
 * publishes still unacknowledged are resent from the client's store.
 */
export interface MqttBusTlsOptions {
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface ReconnectPolicy {
  /** First delay's upper bound. Default 500 ms. */
  readonly initialDelayMs: number;
  /** Cap on any delay. Default 30 s. */
  readonly maxDelayMs: number;
}

export interface MqttBusOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string;
  readonly clientId: string;
  readonly tls?: MqttBusTlsOptions;
  readonly logger: Logger;
  /** 'auto' (default): MQTT 5, falling back to 3.1.1 when the broker refuses 5 (aedes). */
  readonly protocolVersion?: 4 | 5 | 'auto';
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** How long createMqttBus keeps retrying the first connection. Default 30 s. */
  readonly initialConnectTimeoutMs?: number;
  /** For tests: the jitter source. Default Math.random. */
  readonly random?: () => number;
}

export type MqttBusErrorCode = 'NotAuthorized' | 'ConnectFailed' | 'SubscribeRefused' | 'PublishRefused' | 'Closed';

export class MqttBusError extends Error {
  override readonly name = 'MqttBusError';
  constructor(
    readonly code: MqttBusErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_POLICY: ReconnectPolicy = { initialDelayMs: 500, maxDelayMs: 30_000 };

/** Delay before reconnect attempt `attempt` (0-based): in [half, full] of min(cap, initial * 2^attempt). */
export function reconnectDelayMs(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'connected' }
  | { readonly kind: 'backoff'; readonly attempt: number; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'closed' };

interface Route {
  readonly filter: string;
  readonly matches: (topic: string) => boolean;
  readonly handler: MessageHandler;
}

// CONNACK codes meaning "these credentials will never work": 3.1.1 (4, 5) and MQTT 5 (0x86, 0x87, 0x8a, 0x8c).
const AUTH_REFUSALS = new Set([4, 5, 0x86, 0x87, 0x8a, 0x8c]);
// Broker does not speak the requested version: 3.1.1 code 1, MQTT 5 reason 0x84.
const VERSION_REFUSALS = new Set([1, 0x84]);

const codeOf = (e: unknown): number | string | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
};

const isTlsAuthFailure = (e: unknown): boolean => {
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : '';
  return (typeof code === 'string' && /CERT|SSL|TLS|ERR_TLS/.test(code)) || /certificate|alert/i.test(message);
};

export interface MqttBus extends MessageBus {
  /** The MQTT version in use: 5, or 4 (3.1.1) when the broker refused 5. */
  readonly protocolVersion: 4 | 5;
}

/** Connects to `url` and resolves once connected (MQTT 5 when the broker speaks it). */
export async function createMqttBus(options: MqttBusOptions): Promise<MqttBus> {
  const requested = options.protocolVersion ?? 'auto';
  if (requested !== 'auto') return connectBus(options, requested);
  try {
    return await connectBus(options, 5);
  } catch (e) {
    if (!(e instanceof MqttBusError && e.message.includes('protocol version'))) throw e;
    options.logger.info({ url: options.url }, 'mqtt bus: broker refused MQTT 5, using 3.1.1');
    return connectBus(options, 4);
  }
}

async function connectBus(options: MqttBusOptions, protocolVersion: 4 | 5): Promise<MqttBus> {
  const { logger } = options;
  const policy: ReconnectPolicy = { ...DEFAULT_POLICY, ...options.reconnect };
  const random = options.random ?? Math.random;
  const routes: Route[] = [];
  const subscribed = new Set<string>();
  let state: ConnectionState = { kind: 'connecting', attempt: 0 };
  let everConnected = false;

  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    protocolVersion,
    clean: true,
    reconnectPeriod: 0, // reconnection is ours (see scheduleReconnect)
    resubscribe: false, // so is resubscription, which we check
    connectTimeout: 10_000,
    keepalive: 30,
    ...(options.tls === undefined
      ? {}
      : { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, rejectUnauthorized: true }),
  };
  const client: MqttClient = mqtt.connect(options.url, clientOptions);

  const dispatch = async (packet: IPublishPacket): Promise<void> => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const message: InboundMessage = { topic: packet.topic, payload };
    for (const route of routes.filter((r) => r.matches(packet.topic))) {
      try {
        await route.handler(message);
      } catch (e) {
        logger.error({ err: e, topic: packet.topic }, 'mqtt bus: handler failed');
      }
    }
  };
  // MQTT.js sends the PUBACK when this callback runs: after the handlers.
  client.handleMessage = (packet, callback) => {
    dispatch(packet).then(
      () => callback(),
      () => callback(),
    );
  };

  const subscribeFilter = async (filter: string): Promise<void> => {
    const granted = await client.subscribeAsync(filter, { qos: 1 }).catch((e: unknown) => {
      const refused = (e as { packet?: { granted?: unknown[] } }).packet?.granted;
      throw refused === undefined
        ? e
        : new MqttBusError('SubscribeRefused', `broker refused subscription to ${filter} (${String(refused[0])})`);
    });
    const code = granted[0]?.qos;
    if (code === undefined || code >= 0x80)
      throw new MqttBusError('SubscribeRefused', `broker refused subscription to ${filter} (${String(code)})`);
  };

  const resubscribeAll = async (): Promise<void> => {
    for (const filter of subscribed) {
      try {
        await subscribeFilter(filter);
      } catch (e) {
        logger.error({ err: e, filter }, 'mqtt bus: resubscription failed');
      }
    }
    logger.info({ filters: subscribed.size }, 'mqtt bus: resubscribed after reconnect');
  };

  const scheduleReconnect = (attempt: number): void => {
    const delay = reconnectDelayMs(attempt, policy, random);
    logger.warn({ url: options.url, attempt, delayMs: delay }, 'mqtt bus: connection lost, reconnecting');
    const timer = setTimeout(() => {
      if (state.kind !== 'backoff') return;
      state = { kind: 'connecting', attempt: attempt + 1 };
      // Keep the stores: unacknowledged QoS 1 publishes are resent and their promises still settle.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
    state = { kind: 'backoff', attempt, timer };
  };

  client.on('connect', () => {
    const wasReconnect = everConnected;
    everConnected = true;
    state = { kind: 'connected' };
    logger.info({ url: options.url, protocolVersion, reconnect: wasReconnect }, 'mqtt bus: connected');
    if (wasReconnect) void resubscribeAll();
  });
  client.on('close', () => {
    if (state.kind === 'closed' || state.kind === 'backoff' || !everConnected) return;
    scheduleReconnect(state.kind === 'connecting' ? state.attempt : 0);
  });
  client.on('error', (e) => logger.warn({ err: e.message, code: codeOf(e) }, 'mqtt bus: client error'));

  await waitForFirstConnection(
    client,
    options,
    policy,
    random,
    protocolVersion,
    () => state,
    (s) => {
      state = s;
    },
  );

  return {
    protocolVersion,
    async subscribe(filter: string, handler: MessageHandler): Promise<void> {
      if (state.kind === 'closed') throw new MqttBusError('Closed', 'the bus is closed');
      routes.push({ filter, matches: compileTopicFilter(filter), handler });
      if (subscribed.has(filter)) return;
      try {
        await subscribeFilter(filter);
        subscribed.add(filter);
      } catch (e) {
        routes.splice(
          routes.findIndex((r) => r.handler === handler && r.filter === filter),
          1,
        );
        throw e;
      }
    },
    async publish(topic: string, payload: Buffer | string, publishOptions: PublishOptions = {}): Promise<void> {
      if (state.kind === 'closed') throw new MqttBusError('Closed', 'the bus is closed');
      const qos = publishOptions.qos ?? 1;
      const puback = await client.publishAsync(topic, payload, { qos }).catch((e: unknown) => {
        const code = codeOf(e);
        throw typeof code === 'number'
          ? new MqttBusError('PublishRefused', `broker refused publish to ${topic} (reason ${code})`)
          : e;
      });
      // MQTT 5: a PUBACK reason code >= 0x80 is a refusal (e.g. 0x87 not authorized).
      const reason = puback !== undefined && 'reasonCode' in puback ? puback.reasonCode : undefined;
      if (reason !== undefined && reason >= 0x80)
        throw new MqttBusError('PublishRefused', `broker refused publish to ${topic} (reason ${reason})`);
    },
    async close(): Promise<void> {
      if (state.kind === 'backoff') clearTimeout(state.timer);
      const wasConnected = state.kind === 'connected';
      state = { kind: 'closed' };
      routes.length = 0;
      await client.endAsync(!wasConnected);
    },
  };
}

/** First connection: retried with backoff until `initialConnectTimeoutMs`; refused credentials fail at once. */
async function waitForFirstConnection(
  client: MqttClient,
  options: MqttBusOptions,
  policy: ReconnectPolicy,
  random: () => number,
  protocolVersion: 4 | 5,
  getState: () => ConnectionState,
  setState: (s: ConnectionState) => void,
): Promise<void> {
  const deadline = Date.now() + (options.initialConnectTimeoutMs ?? 30_000);
  await new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: MqttBusError): void => {
      cleanup();
      setState({ kind: 'closed' });
      client.end(true);
      reject(error);
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: Error): void => {
      lastError = e;
      const code = codeOf(e);
      if (typeof code === 'number' && VERSION_REFUSALS.has(code))
        fail(new MqttBusError('ConnectFailed', `broker refused MQTT protocol version ${protocolVersion}`));
      else if ((typeof code === 'number' && AUTH_REFUSALS.has(code)) || isTlsAuthFailure(e))
        fail(new MqttBusError('NotAuthorized', `broker refused the credentials: ${e.message}`));
    };
    const onClose = (): void => {
      const state = getState();
      if (state.kind !== 'connecting') return;
      const delay = reconnectDelayMs(state.attempt, policy, random);
      if (Date.now() + delay > deadline) {
        // A TLS server may drop a refused client certificate without an alert: say so.
        const why =
          lastError instanceof Error ? lastError.message : 'connection closed before CONNACK (certificate refused?)';
        fail(new MqttBusError('ConnectFailed', `could not connect to ${options.url}: ${why}`));
        return;
      }
      options.logger.warn(
        { url: options.url, attempt: state.attempt, delayMs: delay },
        'mqtt bus: connect failed, retrying',
      );
      timer = setTimeout(() => {
        setState({ kind: 'connecting', attempt: state.attempt + 1 });
        lastError = undefined;
        client.reconnect();
      }, delay);
    };
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

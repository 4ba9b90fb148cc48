import type { MqttProtocolVersion } from './connection-state.js';
import type { MqttClientError } from './errors.js';

/**
 * What the connection asks of a transport: one MQTT session per `open()`, nothing more. Reconnection,
 * backoff, resubscription, the publish queue and routing live in the connection, once, above every transport.
 */
export interface MqttTransport {
  /** 'mqtt.js' | 'aws-iot-device-sdk-v2' | ...: for logs. */
  readonly kind: string;
  /** Where it connects (a URL, `host:port`, `stream`): for logs and error messages. */
  readonly endpoint: string;
  /**
   * One connection attempt. Resolves once the broker accepted the CONNECT; rejects with an MqttClientError
   * (`NotAuthorized`, `UnsupportedProtocolVersion`, `ConnectFailed`) otherwise, or with `signal.reason` when
   * aborted. After it resolves, `events.lost` is called at most once, when the session ends without close.
   */
  open(request: SessionRequest, events: SessionEvents, signal: AbortSignal): Promise<TransportSession>;
}

export interface LastWill {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos?: 0 | 1;
  readonly retain?: boolean;
}

export interface SessionRequest {
  readonly clientId: string;
  readonly protocolVersion: MqttProtocolVersion;
  /** Clean session (3.1.1) / clean start (5). */
  readonly clean: boolean;
  /** MQTT 5 session expiry when not clean. */
  readonly sessionExpirySeconds: number;
  readonly keepaliveSeconds: number;
  readonly will?: LastWill;
  /** How long a transport-level timer may wait for CONNACK (a real-time backstop to the connection's own). */
  readonly connectTimeoutMs: number;
}

export interface SubscriptionRequest {
  readonly filter: string;
  readonly qos: 0 | 1;
}

/** One filter's answer in a SUBACK: undefined when granted, a `SubscribeRefused` error when refused. */
export type SubscribeOutcome = MqttClientError | undefined;

export interface InboundPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
}

/** How the connection is handling one inbound message. */
export interface InboundHandling {
  /** Settles when its handlers are done: a QoS 1 PUBACK goes out only then, and in arrival order. */
  readonly settled: Promise<void>;
  /** True: the transport may deliver the next message before `settled` (false: it waits, reading nothing). */
  readonly pipelined: boolean;
}

export interface SessionEvents {
  /**
   * A PUBLISH arrived. Undefined: handled already. Otherwise a QoS 1 message is acknowledged (PUBACK) only once
   * `settled` settles, where the transport can (`TransportSession.acksAfterHandler`); acknowledgements go out in
   * the order the messages arrived (MQTT requires it).
   */
  message(publish: InboundPublish): InboundHandling | undefined;
  /** The session ended by itself (network, broker). Called at most once. */
  lost(reason: Error): void;
}

export interface TransportSession {
  readonly protocolVersion: MqttProtocolVersion;
  readonly sessionPresent: boolean;
  /** False where the library acknowledges QoS 1 on receipt (aws-crt's MQTT 3.1.1 connection). */
  readonly acksAfterHandler: boolean;
  /**
   * One SUBSCRIBE for all of `requests` (at most MAX_FILTERS_PER_SUBSCRIBE, AWS IoT Core's quota). Resolves with
   * each filter's outcome in request order once the SUBACK is in; rejects only when the connection went away.
   */
  subscribe(requests: readonly SubscriptionRequest[]): Promise<readonly SubscribeOutcome[]>;
  unsubscribe(filter: string): Promise<void>;
  /**
   * Resolves on PUBACK (QoS 1) or once written (QoS 0). Rejects PublishRefused on a PUBACK failure code; any
   * other rejection means the connection went away (the connection resends the message on the next one).
   */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void>;
  /** Graceful: DISCONNECT (so no last will is published), then close. */
  end(): Promise<void>;
  /** At once, without DISCONNECT. */
  destroy(): void;
}

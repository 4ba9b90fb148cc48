/**
 * How the Shadow and Jobs services talk MQTT. Two implementations:
 * - in-process: hooks straight into the embedded aedes broker (no extra hop, sees the publishing client's id);
 * - external: a privileged MQTT client of Mosquitto or any broker (MQTT 5 where available).
 * The services are written once against this interface.
 */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** MQTT client id of the publisher when the broker can tell (in-process only). */
  readonly clientId?: string;
}

export type MessageHandler = (message: InboundMessage) => void | Promise<void>;

export interface PublishOptions {
  readonly qos?: 0 | 1;
  /**
   * When set and the bus can address one client (in-process), deliver only to that client if it
   * subscribed to the topic — AWS sends Jobs accepted/rejected responses only to the requester.
   * An external bus publishes normally.
   */
  readonly onlyToClientId?: string;
}

export interface BusSubscribeOptions {
  /**
   * True: the handler may be called for the next message before the promise it returned for this one settles,
   * so a consumer that batches its writes sees a batch instead of one message per write. QoS 1 acknowledgements
   * still go out in arrival order, each once its own handler and every earlier one settled. A bus that delivers
   * one message at a time may ignore it.
   */
  readonly pipelined?: boolean;
}

export interface MessageBus {
  /** Subscribe with an MQTT filter (`+`, `#` allowed). Resolves once the subscription is active. */
  subscribe(filter: string, handler: MessageHandler, options?: BusSubscribeOptions): Promise<void>;
  /** Resolves once the broker has taken the message (QoS 1: acknowledged). */
  publish(topic: string, payload: Buffer | string, options?: PublishOptions): Promise<void>;
  /**
   * False only when the bus knows for certain that no session (connected, or persistent and offline) could
   * receive a message on `topic`, so the caller may skip building it. Absent: unknown, publish anyway.
   */
  hasSubscribers?(topic: string): boolean;
  close(): Promise<void>;
}

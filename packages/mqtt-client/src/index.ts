export type { BusSubscribeOptions, InboundMessage, MessageBus, MessageHandler, PublishOptions } from './message-bus.js';
export { MqttClientError, isMqttClientError, type MqttClientErrorCode } from './errors.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export {
  nextConnectionState,
  type ConnectionEvent,
  type ConnectionState,
  type ConnectionStateKind,
  type MqttProtocolVersion,
} from './connection-state.js';
export {
  createMqttConnection,
  type MqttConnection,
  type MqttConnectionOptions,
  type StateListener,
  type SubscribeOptions,
} from './connection.js';
export { connectMqtt, type ConnectMqttOptions } from './connect.js';
export { assertPublishTopic, routingFilterOf } from './topic-rules.js';
export type {
  InboundHandling,
  InboundPublish,
  LastWill,
  MqttTransport,
  SessionEvents,
  SessionRequest,
  SubscribeOutcome,
  SubscriptionRequest,
  TransportSession,
} from './transport.js';
export {
  mqttJsStreamTransport,
  mqttJsTransport,
  type MqttJsTlsOptions,
  type MqttJsTransportOptions,
} from './transports/mqttjs.js';
export { createStreamPair } from './transports/stream-pair.js';
export { awsIotSdkTransport, type AwsIotSdkTransportOptions } from './transports/aws-iot-sdk.js';

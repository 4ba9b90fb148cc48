export type { InboundMessage, MessageBus, MessageHandler, PublishOptions } from './message-bus.js';
export {
  createMqttBus,
  reconnectDelayMs,
  MqttBusError,
  type MqttBus,
  type MqttBusErrorCode,
  type MqttBusOptions,
  type MqttBusTlsOptions,
  type ReconnectPolicy,
} from './mqtt-bus.js';

/**
 * Every failure this package reports is an MqttClientError with a stable code; callers branch on `code`,
 * never on the message.
 */
export type MqttClientErrorCode =
  /** The broker refused the credentials or the client id (CONNACK refusal, TLS alert): retrying will not help. */
  | 'NotAuthorized'
  /** The broker does not speak the requested MQTT version (CONNACK 0x01 / 0x84, or an undecodable CONNACK). */
  | 'UnsupportedProtocolVersion'
  /** No connection could be made (nothing listening, dropped before CONNACK, attempt timed out, deadline passed). */
  | 'ConnectFailed'
  /** The broker answered SUBACK with a failure code. */
  | 'SubscribeRefused'
  /** The broker answered PUBACK with a failure code, or kept closing the connection while the message was in flight. */
  | 'PublishRefused'
  /** More publishes waiting for a connection than `maxQueuedPublishes`. */
  | 'QueueFull'
  /** A topic name that MQTT does not allow for a publish (empty, wildcards, NUL, over 65,535 bytes). */
  | 'InvalidTopic'
  /** A topic filter that MQTT does not allow (misplaced `#` or `+`, empty `$share` group...). */
  | 'InvalidTopicFilter'
  /** An option that cannot work; the message names it and what to give instead. */
  | 'InvalidOptions'
  /** The connection was closed (by close(), or for good after a fatal refusal) before the operation completed. */
  | 'Closed';

export class MqttClientError extends Error {
  override readonly name = 'MqttClientError';
  constructor(
    readonly code: MqttClientErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isMqttClientError = (e: unknown, code?: MqttClientErrorCode): e is MqttClientError =>
  e instanceof MqttClientError && (code === undefined || e.code === code);

/** One filter's code in a SUBACK (an MQTT 5 reason code, a 3.1.1 granted QoS): 0x80 and up refuse it. */
export const subscribeOutcomeOf = (filter: string, code: unknown): MqttClientError | undefined =>
  code !== undefined && code !== null && Number(code) < 0x80
    ? undefined
    : new MqttClientError('SubscribeRefused', `broker refused subscription to ${filter} (${String(code)})`);

/** Failures after which another attempt cannot succeed with the same options: the connection closes. */
export const isFatalConnectError = (e: MqttClientError): boolean =>
  e.code === 'NotAuthorized' || e.code === 'UnsupportedProtocolVersion' || e.code === 'InvalidOptions';

/** Why an attempt's AbortSignal fired, as an Error (the connection aborts with an MqttClientError). */
export const abortReasonOf = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new MqttClientError('ConnectFailed', 'connection attempt aborted');

import { MqttClientError } from '../errors.js';

const AUTH_REASONS = new Set([0x85, 0x86, 0x87, 0x8a, 0x8c]);
const VERSION_REASON = 0x84;

/** The CRT's error name (`AWS_IO_TLS_...`) of a CrtError; '' for anything else, which is never parsed for one. */
export const crtErrorNameOf = (e: unknown): string => {
  const name = (e as { error_name?: unknown } | undefined)?.error_name;
  return typeof name === 'string' ? name : '';
};

/**
 * What an aws-crt connect failure means. Facts measured against aedes and Mosquitto 2:
 * - a 3.1.1 CONNACK refusal arrives as AWS_ERROR_MQTT_PROTOCOL_ERROR (the return code is not passed on);
 * - the MQTT 5 client cannot decode a 3.1.1-only broker's CONNACK: AWS_ERROR_MQTT5_DECODE_PROTOCOL_ERROR;
 * - a TLS alert from the broker (unknown CA, no certificate) is AWS_IO_TLS_ERROR_*; a Node TLS server that
 *   drops an untrusted certificate without an alert shows as AWS_IO_SOCKET_CLOSED (retried, as with mqtt.js).
 */
export function crtConnectErrorOf(
  e: unknown,
  reasonCode: number | undefined,
  protocolVersion: 4 | 5,
  endpoint: string,
): MqttClientError {
  const name = crtErrorNameOf(e);
  const message = e instanceof Error ? e.message : String(e);
  if (reasonCode === VERSION_REASON || (protocolVersion === 5 && name === 'AWS_ERROR_MQTT5_DECODE_PROTOCOL_ERROR'))
    return new MqttClientError(
      'UnsupportedProtocolVersion',
      `${endpoint} does not speak MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: ${message}`,
      {
        cause: e,
      },
    );
  if (reasonCode !== undefined && AUTH_REASONS.has(reasonCode))
    return new MqttClientError('NotAuthorized', `${endpoint} refused the connection (CONNACK ${reasonCode})`, {
      cause: e,
    });
  if (protocolVersion === 4 && name === 'AWS_ERROR_MQTT_PROTOCOL_ERROR')
    return new MqttClientError('NotAuthorized', `${endpoint} refused the connection (CONNACK refusal): ${message}`, {
      cause: e,
    });
  if (name.startsWith('AWS_IO_TLS_'))
    return new MqttClientError('NotAuthorized', `${endpoint} refused the TLS credentials: ${message}`, { cause: e });
  return new MqttClientError('ConnectFailed', `could not connect to ${endpoint}: ${message}`, { cause: e });
}

/**
 * aws-crt refusing an operation itself (a packet the negotiated settings do not allow, such as a payload over the
 * broker's maximum packet size): it will fail again on any session, so it is a refusal, not a lost connection.
 */
export const isCrtValidationError = (e: unknown): boolean => crtErrorNameOf(e).includes('VALIDATION');

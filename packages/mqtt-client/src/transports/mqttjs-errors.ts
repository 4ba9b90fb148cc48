import { MqttClientError } from '../errors.js';

// CONNACK refusals: 3.1.1 return codes (table 3.1) and MQTT 5 reason codes (table 3-8).
const VERSION_REFUSALS = new Set([1, 0x84]);
// Identifier rejected, bad user name or password, not authorized; MQTT 5: client id not valid, bad user name
// or password, not authorized, banned, bad authentication method.
const AUTH_REFUSALS = new Set([2, 4, 5, 0x85, 0x86, 0x87, 0x8a, 0x8c]);

const codeOf = (e: unknown): number | string | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
};

export const numericCodeOf = (e: unknown): number | undefined => {
  const code = codeOf(e);
  return typeof code === 'number' ? code : undefined;
};

/**
 * What an MQTT.js connect failure means. A TLS alert is the broker refusing our certificate (no certificate,
 * unknown CA, revoked...). Anything else may pass: ConnectFailed, retried.
 */
export function connectErrorOf(e: unknown, endpoint: string): MqttClientError {
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === 'number') {
    if (VERSION_REFUSALS.has(code))
      return new MqttClientError(
        'UnsupportedProtocolVersion',
        `${endpoint} refused the MQTT protocol version (${code})`,
        {
          cause: e,
        },
      );
    if (AUTH_REFUSALS.has(code))
      return new MqttClientError('NotAuthorized', `${endpoint} refused the connection (CONNACK ${code}): ${message}`, {
        cause: e,
      });
    return new MqttClientError('ConnectFailed', `${endpoint} refused the connection (CONNACK ${code}): ${message}`, {
      cause: e,
    });
  }
  if (typeof code === 'string' && code.startsWith('ERR_SSL_') && code.includes('ALERT'))
    return new MqttClientError('NotAuthorized', `${endpoint} refused the TLS credentials: ${message.trim()}`, {
      cause: e,
    });
  return new MqttClientError('ConnectFailed', `could not connect to ${endpoint}: ${message.trim()}`, { cause: e });
}

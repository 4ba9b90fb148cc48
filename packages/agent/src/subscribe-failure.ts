import { isMqttClientError } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';

/**
 * Logs a client's failed start (its subscriptions) as an error, unless the agent's own close cut it short (a stop
 * before the first connection): that is no failure, so debug.
 */
export function logSubscribeFailure(logger: Logger, e: unknown, fields: object, message: string): void {
  logger[isMqttClientError(e, 'Closed') ? 'debug' : 'error']({ ...fields, err: e }, message);
}

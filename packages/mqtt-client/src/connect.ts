import { systemClock } from './clock.js';
import { createMqttConnection, type MqttConnection, type MqttConnectionOptions } from './connection.js';
import { MqttClientError } from './errors.js';

export interface ConnectMqttOptions extends MqttConnectionOptions {
  /** How long to keep trying for the first connection, on the clock. Default 30 s. */
  readonly firstConnectTimeoutMs?: number;
}

/**
 * Creates a connection, starts it and resolves once it is connected (every later loss is reconnected by the
 * connection itself). Rejects, after closing it, with the refusal (NotAuthorized, UnsupportedProtocolVersion)
 * at once, or ConnectFailed naming the last failure when `firstConnectTimeoutMs` passes first.
 */
export async function connectMqtt(options: ConnectMqttOptions): Promise<MqttConnection> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.firstConnectTimeoutMs ?? 30_000;
  if (!(timeoutMs > 0))
    throw new MqttClientError('InvalidOptions', `firstConnectTimeoutMs must be > 0, got ${timeoutMs}`);
  const connection = createMqttConnection(options);
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = clock.setTimeout(() => {
        off();
        const last = connection.state.kind === 'backoff' ? `: ${connection.state.reason.message}` : '';
        void connection.close(); // now, before any later timer on this clock can start another attempt
        reject(
          new MqttClientError(
            'ConnectFailed',
            `could not connect to ${connection.transport.endpoint} within ${timeoutMs} ms${last}`,
          ),
        );
      }, timeoutMs);
      const off = connection.onStateChange((state) => {
        if (state.kind !== 'connected' && state.kind !== 'closed') return;
        off();
        clock.clearTimeout(deadline);
        if (state.kind === 'connected') resolve();
        else reject(state.reason ?? new MqttClientError('Closed', 'closed before the first connection'));
      });
      connection.start();
    });
  } catch (e) {
    await connection.close();
    throw e;
  }
  return connection;
}

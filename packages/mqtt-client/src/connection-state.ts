import type { MqttClientError } from './errors.js';

export type MqttProtocolVersion = 4 | 5;

/**
 * The connection as one tagged union. `attempt` is 0-based: a backoff with attempt k waits
 * random() * min(cap, base * 2^k) and is followed by the connecting state with attempt k + 1.
 */
export type ConnectionState =
  /** Created, start() not called yet. */
  | { readonly kind: 'idle' }
  /** One connection attempt in flight (never more than one). */
  | { readonly kind: 'connecting'; readonly attempt: number; readonly protocolVersion: MqttProtocolVersion }
  /** CONNACK accepted and every subscription active again: safe to (re)sync state. */
  | {
      readonly kind: 'connected';
      readonly attempt: number;
      readonly protocolVersion: MqttProtocolVersion;
      /** The broker resumed a persistent session (subscriptions kept, queued messages follow). */
      readonly sessionPresent: boolean;
      /** Clock time the connection came up. */
      readonly since: number;
      /** 1 for the first connection, 2 for the first reconnection, ... */
      readonly connectionCount: number;
    }
  /** Waiting `delayMs` (until clock time `retryAt`) before the next attempt. */
  | {
      readonly kind: 'backoff';
      readonly attempt: number;
      readonly delayMs: number;
      readonly retryAt: number;
      /** Why the last attempt failed or the connection was lost. */
      readonly reason: MqttClientError;
    }
  /** For good: close() was called (no reason) or the broker refused in a way retrying cannot fix. */
  | { readonly kind: 'closed'; readonly reason?: MqttClientError };

export type ConnectionStateKind = ConnectionState['kind'];

export type ConnectionEvent =
  | { readonly type: 'start'; readonly protocolVersion: MqttProtocolVersion }
  /** The broker does not speak MQTT 5 and 'auto' was asked: the same attempt again with 3.1.1. */
  | { readonly type: 'fallback'; readonly protocolVersion: MqttProtocolVersion }
  | {
      readonly type: 'connected';
      readonly sessionPresent: boolean;
      readonly at: number;
      readonly connectionCount: number;
    }
  /** An attempt failed, or an established connection dropped. `delayMs(attempt)` draws the backoff. */
  | {
      readonly type: 'failed';
      readonly reason: MqttClientError;
      readonly at: number;
      readonly delayMs: (attempt: number) => number;
      readonly resetAfterConnectedMs: number;
    }
  | { readonly type: 'retry'; readonly protocolVersion: MqttProtocolVersion }
  | { readonly type: 'close'; readonly reason?: MqttClientError };

type Transition<S extends ConnectionState, E extends ConnectionEvent> = (state: S, event: E) => ConnectionState;
type StateOf<K extends ConnectionStateKind> = Extract<ConnectionState, { kind: K }>;
type EventOf<T extends ConnectionEvent['type']> = Extract<ConnectionEvent, { type: T }>;
type Table = {
  readonly [K in ConnectionStateKind]: { readonly [T in ConnectionEvent['type']]?: Transition<StateOf<K>, EventOf<T>> };
};

const backoff = (attempt: number, event: EventOf<'failed'>): ConnectionState => {
  const delayMs = event.delayMs(attempt);
  return { kind: 'backoff', attempt, delayMs, retryAt: event.at + delayMs, reason: event.reason };
};
const close = (_state: ConnectionState, event: EventOf<'close'>): ConnectionState =>
  event.reason === undefined ? { kind: 'closed' } : { kind: 'closed', reason: event.reason };

/**
 * Every legal move, in one table. An event missing from a state's row is ignored, which is what makes
 * "one reconnect at a time" structural: `retry` exists only in backoff, `start` only in idle.
 */
const TRANSITIONS: Table = {
  idle: {
    start: (_s, e) => ({ kind: 'connecting', attempt: 0, protocolVersion: e.protocolVersion }),
    close,
  },
  connecting: {
    fallback: (s, e) => ({ kind: 'connecting', attempt: s.attempt, protocolVersion: e.protocolVersion }),
    connected: (s, e) => ({
      kind: 'connected',
      attempt: s.attempt,
      protocolVersion: s.protocolVersion,
      sessionPresent: e.sessionPresent,
      since: e.at,
      connectionCount: e.connectionCount,
    }),
    failed: (s, e) => backoff(s.attempt, e),
    close,
  },
  connected: {
    failed: (s, e) => backoff(e.at - s.since >= e.resetAfterConnectedMs ? 0 : s.attempt, e),
    close,
  },
  backoff: {
    retry: (s, e) => ({ kind: 'connecting', attempt: s.attempt + 1, protocolVersion: e.protocolVersion }),
    close,
  },
  closed: {},
};

/** The next state, or undefined when `event` means nothing in `state`. */
export function nextConnectionState(state: ConnectionState, event: ConnectionEvent): ConnectionState | undefined {
  const row = TRANSITIONS[state.kind] as {
    readonly [T in ConnectionEvent['type']]?: Transition<ConnectionState, ConnectionEvent>;
  };
  return row[event.type]?.(state, event);
}

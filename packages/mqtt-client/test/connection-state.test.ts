import { describe, expect, it } from 'vitest';
import {
  MqttClientError,
  nextConnectionState,
  type ConnectionEvent,
  type ConnectionState,
} from '@otafleet/mqtt-client';

const reason = new MqttClientError('ConnectFailed', 'connect ECONNREFUSED');
const failed = (at: number): ConnectionEvent => ({
  type: 'failed',
  reason,
  at,
  delayMs: (attempt) => 100 * 2 ** attempt,
  resetAfterConnectedMs: 1000,
});
const connectedAt = (at: number, attempt = 0): ConnectionState => ({
  kind: 'connected',
  attempt,
  protocolVersion: 5,
  sessionPresent: false,
  since: at,
  connectionCount: 1,
});

describe('the connection state table', () => {
  it('walks idle → connecting → backoff → connecting → connected', () => {
    let s: ConnectionState | undefined = { kind: 'idle' };
    s = nextConnectionState(s, { type: 'start', protocolVersion: 5 });
    expect(s).toEqual({ kind: 'connecting', attempt: 0, protocolVersion: 5 });
    s = nextConnectionState(s!, failed(10));
    expect(s).toEqual({ kind: 'backoff', attempt: 0, delayMs: 100, retryAt: 110, reason });
    s = nextConnectionState(s!, { type: 'retry', protocolVersion: 5 });
    expect(s).toEqual({ kind: 'connecting', attempt: 1, protocolVersion: 5 });
    s = nextConnectionState(s!, failed(120));
    expect(s).toMatchObject({ kind: 'backoff', attempt: 1, delayMs: 200, retryAt: 320 });
    s = nextConnectionState(s!, { type: 'retry', protocolVersion: 5 });
    s = nextConnectionState(s!, { type: 'connected', sessionPresent: true, at: 330, connectionCount: 1 });
    expect(s).toEqual({
      kind: 'connected',
      attempt: 2,
      protocolVersion: 5,
      sessionPresent: true,
      since: 330,
      connectionCount: 1,
    });
  });

  it('falls back to 3.1.1 within the same attempt', () => {
    const s = nextConnectionState(
      { kind: 'connecting', attempt: 3, protocolVersion: 5 },
      { type: 'fallback', protocolVersion: 4 },
    );
    expect(s).toEqual({ kind: 'connecting', attempt: 3, protocolVersion: 4 });
  });

  it('starts backoff over after a stable connection, continues it after a short one', () => {
    expect(nextConnectionState(connectedAt(0, 4), failed(1000))).toMatchObject({ kind: 'backoff', attempt: 0 });
    expect(nextConnectionState(connectedAt(0, 4), failed(999))).toMatchObject({ kind: 'backoff', attempt: 4 });
  });

  it('ignores events that mean nothing in a state: one attempt at a time, nothing after closed', () => {
    const connecting: ConnectionState = { kind: 'connecting', attempt: 0, protocolVersion: 5 };
    expect(nextConnectionState(connecting, { type: 'retry', protocolVersion: 5 })).toBeUndefined();
    expect(nextConnectionState(connecting, { type: 'start', protocolVersion: 5 })).toBeUndefined();
    expect(nextConnectionState(connectedAt(0), { type: 'retry', protocolVersion: 5 })).toBeUndefined();
    expect(nextConnectionState({ kind: 'idle' }, failed(0))).toBeUndefined();
    const closed: ConnectionState = { kind: 'closed' };
    for (const event of [
      { type: 'start', protocolVersion: 5 },
      { type: 'retry', protocolVersion: 5 },
      failed(0),
      { type: 'close' },
    ] as const)
      expect(nextConnectionState(closed, event)).toBeUndefined();
  });

  it('closes from every live state, keeping the reason of a fatal refusal', () => {
    const refused = new MqttClientError('NotAuthorized', 'CONNACK 5');
    const live: ConnectionState[] = [
      { kind: 'idle' },
      { kind: 'connecting', attempt: 0, protocolVersion: 4 },
      connectedAt(0),
      { kind: 'backoff', attempt: 0, delayMs: 1, retryAt: 1, reason },
    ];
    for (const s of live) {
      expect(nextConnectionState(s, { type: 'close' })).toEqual({ kind: 'closed' });
      expect(nextConnectionState(s, { type: 'close', reason: refused })).toEqual({ kind: 'closed', reason: refused });
    }
  });
});

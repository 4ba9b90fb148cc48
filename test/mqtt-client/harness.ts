import {
  createMqttConnection,
  ManualClock,
  type ConnectionState,
  type MqttConnection,
  type MqttConnectionOptions,
  type MqttTransport,
  type TransportSession,
} from '@otafleet/mqtt-client';
import { logger, THING } from './brokers.js';

/**
 * Counts open() calls on a transport, and the most ever in flight at once ("one reconnect at a time"); records
 * the filters of every subscribe() its sessions were asked for (one SUBSCRIBE each, where the library allows).
 */
export interface CountedTransport extends MqttTransport {
  readonly opens: { total: number; inFlight: number; maxInFlight: number };
  readonly subscribes: (readonly string[])[];
}

export function counted(transport: MqttTransport): CountedTransport {
  const opens = { total: 0, inFlight: 0, maxInFlight: 0 };
  const subscribes: (readonly string[])[] = [];
  const recording = (s: TransportSession): TransportSession => ({
    get protocolVersion() {
      return s.protocolVersion;
    },
    get sessionPresent() {
      return s.sessionPresent;
    },
    get acksAfterHandler() {
      return s.acksAfterHandler;
    },
    subscribe: (requests) => {
      subscribes.push(requests.map((r) => r.filter));
      return s.subscribe(requests);
    },
    unsubscribe: (filter) => s.unsubscribe(filter),
    publish: (topic, payload, qos) => s.publish(topic, payload, qos),
    end: () => s.end(),
    destroy: () => s.destroy(),
  });
  return {
    kind: transport.kind,
    endpoint: transport.endpoint,
    opens,
    subscribes,
    async open(request, events, signal) {
      opens.total++;
      opens.inFlight++;
      opens.maxInFlight = Math.max(opens.maxInFlight, opens.inFlight);
      try {
        return recording(await transport.open(request, events, signal));
      } finally {
        opens.inFlight--;
      }
    },
  };
}

/** Real time, bounded: polls `predicate` every 10 ms until it holds, failing after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Deterministic jitter: every draw is 0.5, so delay k is exactly min(cap, base * 2^k) / 2. */
export const HALF = (): number => 0.5;
export const BACKOFF = { baseMs: 1000, capMs: 8000, resetAfterConnectedMs: 60_000 } as const;
export const expectedDelay = (attempt: number): number => Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt) / 2;

export interface Harness {
  readonly connection: MqttConnection;
  readonly clock: ManualClock;
  readonly transport: CountedTransport;
  /** Every state the connection entered, in order. */
  readonly states: ConnectionState[];
  /** The kinds of `states` from index `from` on, consecutive repeats merged. */
  kinds(from?: number): string[];
}

export function harness(
  transport: MqttTransport,
  options: Partial<MqttConnectionOptions> = {},
  track: MqttConnection[] = [],
): Harness {
  const clock = new ManualClock(1_000_000);
  const countedTransport = counted(transport);
  const connection = createMqttConnection({
    transport: countedTransport,
    clientId: THING,
    clock,
    random: HALF,
    backoff: BACKOFF,
    logger,
    ...options,
  });
  track.push(connection);
  const states: ConnectionState[] = [];
  connection.onStateChange((s) => states.push(s));
  return {
    connection,
    clock,
    transport: countedTransport,
    states,
    kinds: (from = 0) =>
      states
        .slice(from)
        .map((s) => s.kind)
        .filter((k, i, all) => i === 0 || all[i - 1] !== k),
  };
}

/** Waits for a backoff state with `attempt` (real time, bounded) and returns it. */
export async function backoffOf(h: Harness, attempt: number): Promise<Extract<ConnectionState, { kind: 'backoff' }>> {
  await until(
    () => h.connection.state.kind === 'backoff' && h.connection.state.attempt === attempt,
    `backoff attempt ${attempt}`,
  );
  return h.connection.state as Extract<ConnectionState, { kind: 'backoff' }>;
}

/** Settles `p`, advancing the manual clock through each backoff it meets (at most `rounds` of them). */
export async function settleThroughBackoff<T>(
  h: Harness,
  p: Promise<T>,
  rounds = 10,
): Promise<PromiseSettledResult<T>> {
  let result: PromiseSettledResult<T> | undefined;
  void p.then(
    (value) => (result = { status: 'fulfilled', value }),
    (reason: unknown) => (result = { status: 'rejected', reason }),
  );
  for (let i = 0; i < rounds; i++) {
    await until(() => result !== undefined || h.connection.state.kind === 'backoff', 'a settlement or a backoff');
    if (result !== undefined) return result;
    const state = h.connection.state;
    if (state.kind === 'backoff') h.clock.advance(state.delayMs);
  }
  await until(() => result !== undefined, 'a settlement');
  return result as PromiseSettledResult<T>;
}

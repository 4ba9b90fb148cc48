import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface TlsClientOptions {
  readonly port: number;
  readonly clientId: string;
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly protocolVersion?: 4 | 5;
  readonly timeoutMs?: number;
}

/** Outcome of a connection attempt: connected, or refused with the CONNACK code / the TLS error. */
export type ConnectOutcome =
  | { readonly ok: true; readonly client: MqttClient }
  | { readonly ok: false; readonly returnCode?: number; readonly error: string };

/** Connects MQTT.js over TLS (no reconnect) and reports how it went, never hanging past `timeoutMs`. */
export function tryConnectTls(options: TlsClientOptions): Promise<ConnectOutcome> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const opts: IClientOptions = {
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: options.port,
    clientId: options.clientId,
    ca: options.ca,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    protocolVersion: options.protocolVersion ?? 4,
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
  };
  const client = mqtt.connect(opts);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: ConnectOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!outcome.ok) client.end(true);
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ ok: false, error: 'timeout' }), timeoutMs);
    client.once('connect', () => settle({ ok: true, client }));
    client.once('error', (e: Error & { code?: number | string }) =>
      settle(
        typeof e.code === 'number'
          ? { ok: false, returnCode: e.code, error: e.message }
          : { ok: false, error: e.message },
      ),
    );
    client.once('close', () => settle({ ok: false, error: 'connection closed' }));
  });
}

export async function connectTls(options: TlsClientOptions): Promise<MqttClient> {
  const outcome = await tryConnectTls(options);
  if (!outcome.ok) throw new Error(`connect ${options.clientId} failed: ${outcome.error} (${outcome.returnCode})`);
  return outcome.client;
}

/** SUBACK granted QoS / reason code for the single `filter` (MQTT.js turns a code >= 0x80 into an error with it). */
export async function subscribeCodes(client: MqttClient, filter: string): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted.map((g) => g.qos);
  } catch (e) {
    const granted = (e as { packet?: { granted?: unknown } }).packet?.granted;
    if (Array.isArray(granted)) return granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
    throw e;
  }
}

/** Collects every message on `client` whose topic equals `topic`. */
export function collect(client: MqttClient, topic: string): Buffer[] {
  const got: Buffer[] = [];
  client.on('message', (t, payload) => {
    if (t === topic) got.push(payload);
  });
  return got;
}

/** Resolves when `client` closes, or false after `timeoutMs`. */
export function closed(client: MqttClient, timeoutMs = 5000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function endAll(clients: readonly (MqttClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => (c === undefined ? Promise.resolve() : c.endAsync(true))));
}

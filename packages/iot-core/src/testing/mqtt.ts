import mqtt, { type MqttClient } from 'mqtt';

/** Connects an MQTT.js client over TCP and waits for CONNACK (or fails after `timeoutMs`). */
export async function connectClient(port: number, clientId: string, timeoutMs = 5000): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, clientId, reconnectPeriod: 0, connectTimeout: timeoutMs });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** The clients a test connects to one broker over TCP, ended together (call `endAll` after each test). */
export interface TcpClientPool {
  readonly connect: (clientId: string) => Promise<MqttClient>;
  /** A client connected some other way, ended with the rest. */
  readonly track: (client: MqttClient) => void;
  readonly endAll: () => Promise<void>;
}

/** A pool of `connectClient` clients; `port` is asked at each connect (the broker may start after the pool). */
export function tcpClientPool(port: () => number): TcpClientPool {
  const clients: MqttClient[] = [];
  return {
    connect: async (clientId) => {
      const c = await connectClient(port(), clientId);
      clients.push(c);
      return c;
    },
    track: (client) => void clients.push(client),
    endAll: async () => {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    },
  };
}

/** Resolves with the next message on `topic` (exact), or rejects after `timeoutMs`. */
export function nextMessage(client: MqttClient, topic: string, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

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

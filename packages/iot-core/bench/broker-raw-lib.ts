import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/**
 * Raw MQTT QoS 1 publish throughput over real sockets: N MQTT.js publishers, each keeping a window of
 * unacknowledged publishes, and one subscriber counting deliveries. The clock runs from the first publish
 * until every PUBACK is in and the subscriber has counted every message.
 */
export interface PublishThroughputOptions {
  /** `mqtt://127.0.0.1:port` or `mqtts://...` (then give `tlsFor`). */
  readonly url: string;
  readonly publishers: number;
  readonly messagesPerPublisher: number;
  /** Unacknowledged QoS 1 publishes each publisher keeps in flight. Default 16. */
  readonly inflightPerPublisher?: number;
  /** Default 64 bytes. */
  readonly payloadBytes?: number;
  /** Default `bench-<i>`. */
  readonly clientIdFor?: (publisher: number) => string;
  /** Default `dt/<clientId>/raw`. */
  readonly topicFor?: (clientId: string, seq: number) => string;
  /** Filter the counting subscriber uses; default `dt/+/raw`. */
  readonly counterFilter?: string;
  /** Client id of the counting subscriber; default `bench-counter`. */
  readonly counterClientId?: string;
  /** TLS material per client id (publishers and the counter), for mutual-TLS brokers. */
  readonly tlsFor?: (clientId: string) => { ca: string; cert: string; key: string };
  /** Default 120 s. */
  readonly timeoutMs?: number;
}

export interface PublishThroughputResult {
  readonly published: number;
  readonly received: number;
  readonly elapsedMs: number;
  /** Delivered messages per second (= published when nothing is lost). */
  readonly msgsPerSec: number;
}

async function connect(url: string, clientId: string, extra: Partial<IClientOptions>): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, connectTimeout: 10_000, clean: true, ...extra });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

export async function measurePublishThroughput(options: PublishThroughputOptions): Promise<PublishThroughputResult> {
  const window = options.inflightPerPublisher ?? 16;
  const payload = Buffer.alloc(options.payloadBytes ?? 64, 0x61);
  const clientIdFor = options.clientIdFor ?? ((i: number) => `bench-${i}`);
  const topicFor = options.topicFor ?? ((id: string) => `dt/${id}/raw`);
  const tls = (id: string): Partial<IClientOptions> => (options.tlsFor === undefined ? {} : options.tlsFor(id));
  const total = options.publishers * options.messagesPerPublisher;

  const counterId = options.counterClientId ?? 'bench-counter';
  const counter = await connect(options.url, counterId, tls(counterId));
  const publishers: MqttClient[] = [];
  try {
    await counter.subscribeAsync(options.counterFilter ?? 'dt/+/raw', { qos: 1 });
    for (let i = 0; i < options.publishers; i++) {
      const id = clientIdFor(i);
      publishers.push(await connect(options.url, id, tls(id)));
    }
    let received = 0;
    let resolveAll: () => void = () => undefined;
    const allReceived = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    counter.on('message', () => {
      received++;
      if (received >= total) resolveAll();
    });

    const publishAll = async (client: MqttClient, index: number): Promise<void> => {
      const id = clientIdFor(index);
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < options.messagesPerPublisher) {
          const seq = next++;
          await client.publishAsync(topicFor(id, seq), payload, { qos: 1 });
        }
      };
      await Promise.all(Array.from({ length: window }, lane));
    };

    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new Error(`benchmark timed out: ${received}/${total} received`)),
        options.timeoutMs ?? 120_000,
      );
    });
    try {
      await Promise.race([Promise.all([...publishers.map(publishAll), allReceived]), timeout]);
    } finally {
      clearTimeout(timer);
    }
    const elapsedMs = performance.now() - started;
    return { published: total, received, elapsedMs, msgsPerSec: Math.round((received / elapsedMs) * 1000) };
  } finally {
    await Promise.all([counter, ...publishers].map((c) => c.endAsync(true)));
  }
}

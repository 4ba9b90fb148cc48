import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { MessageBus } from '@otafleet/mqtt-client';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded-broker.js';
import { createAedesBus } from '../bus/aedes-bus.js';
import { openDatabase, type Db } from '../db.js';
import { createShadowService, type ShadowService, type ShadowServiceOptions } from '../shadow/index.js';
import { connectClient } from './mqtt.js';
import { silentLogger } from './silent-logger.js';

export { silentLogger };

export interface ReceivedMessage {
  readonly topic: string;
  readonly body: Record<string, unknown>;
}

/** Records every message a client receives and waits for matching ones (bounded by a timeout). */
export class Inbox {
  readonly messages: ReceivedMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> });
      for (const w of this.waiters) w();
    });
  }

  on(topic: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Resolves with the first message on `topic` matching `match`, already received or not. */
  async next(
    topic: string,
    match: (body: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Record<string, unknown>> {
    const find = (): ReceivedMessage | undefined => this.messages.find((m) => m.topic === topic && match(m.body));
    const found = find();
    if (found) return found.body;
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        const m = find();
        if (!m) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(m.body);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(check);
    });
  }

  /** Resolves with the message answering `clientToken` on accepted or rejected of `requestTopic`. */
  async answer(requestTopic: string, clientToken: string, timeoutMs = 5000): Promise<ReceivedMessage> {
    const byToken = (b: Record<string, unknown>): boolean => b['clientToken'] === clientToken;
    return await Promise.any([
      this.next(`${requestTopic}/accepted`, byToken, timeoutMs).then((body) => ({
        topic: `${requestTopic}/accepted`,
        body,
      })),
      this.next(`${requestTopic}/rejected`, byToken, timeoutMs).then((body) => ({
        topic: `${requestTopic}/rejected`,
        body,
      })),
    ]);
  }
}

/** A real broker on a free port, the in-process bus, a SQLite file in a temp dir and the shadow service. */
export class ShadowHarness {
  readonly clients: MqttClient[] = [];
  service!: ShadowService;
  db!: Db;
  bus!: MessageBus;

  private constructor(
    readonly broker: EmbeddedBroker,
    readonly dir: string,
  ) {}

  static async start(options: Partial<Pick<ShadowServiceOptions, 'limits' | 'now'>> = {}): Promise<ShadowHarness> {
    const broker = await startEmbeddedBroker({ logger: silentLogger });
    const h = new ShadowHarness(broker, mkdtempSync(join(tmpdir(), 'shadow-test-')));
    await h.startService(options);
    return h;
  }

  get dbPath(): string {
    return join(this.dir, 'core.db');
  }

  async startService(options: Partial<Pick<ShadowServiceOptions, 'limits' | 'now'>> = {}): Promise<void> {
    this.db = openDatabase(this.dbPath);
    this.bus = createAedesBus(this.broker.aedes, silentLogger);
    this.service = await createShadowService({ db: this.db, bus: this.bus, logger: silentLogger, ...options });
  }

  async stopService(): Promise<void> {
    await this.service.close();
    await this.bus.close();
    this.db.close();
  }

  async client(id: string, filters: string[]): Promise<Inbox> {
    const c = await connectClient(this.broker.port, id);
    this.clients.push(c);
    const inbox = new Inbox(c);
    if (filters.length > 0) await c.subscribeAsync(filters, { qos: 1 });
    return inbox;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true)));
    await this.stopService();
    await this.broker.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

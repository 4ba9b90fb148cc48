import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded-broker.js';
import { createAedesBus } from '../bus/aedes-bus.js';
import { openDatabase, type Db } from '../db.js';
import { createJobsService, type JobsService } from '../jobs/index.js';
import type { ArnContext } from '../registry-types.js';
import { TestClock } from './test-clock.js';
import { silentLogger } from './silent-logger.js';
import { connectClient } from './mqtt.js';
import { JobsTestRegistry } from './jobs-test-registry.js';

export const ARN: ArnContext = { region: 'us-east-1', accountId: '123456789012' };
export const thingTarget = (name: string): string => `arn:aws:iot:us-east-1:123456789012:thing/${name}`;
export const groupTarget = (name: string): string => `arn:aws:iot:us-east-1:123456789012:thinggroup/${name}`;

export { TestClock };

/** Broker + bus + SQLite file + registry + Jobs service, and MQTT devices, all torn down by close(). */
export class JobsEnv {
  readonly clients: MqttClient[] = [];
  private constructor(
    readonly dir: string,
    readonly dbPath: string,
    readonly broker: EmbeddedBroker,
    readonly bus: MessageBus,
    public db: Db,
    public registry: JobsTestRegistry,
    public jobs: JobsService,
    readonly clock: TestClock,
  ) {}

  static async start(opts: { dir?: string; logger?: Logger } = {}): Promise<JobsEnv> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'jobs-test-'));
    const dbPath = join(dir, 'core.db');
    const logger = opts.logger ?? silentLogger;
    const broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const db = openDatabase(dbPath);
    const registry = new JobsTestRegistry(db, ARN);
    const clock = new TestClock();
    const jobs = await createJobsService({ db, bus, registry, arn: ARN, logger, now: clock.now, tickIntervalMs: 20 });
    return new JobsEnv(dir, dbPath, broker, bus, db, registry, jobs, clock);
  }

  /** Closes the service and database and opens both again on the same file (a restart). */
  async restart(): Promise<void> {
    await this.jobs.close();
    this.db.close();
    this.db = openDatabase(this.dbPath);
    this.registry = new JobsTestRegistry(this.db, ARN);
    const logger = silentLogger;
    this.jobs = await createJobsService({
      db: this.db,
      bus: this.bus,
      registry: this.registry,
      arn: ARN,
      logger,
      now: this.clock.now,
      tickIntervalMs: 20,
    });
  }

  async device(thingName: string): Promise<MqttClient> {
    const c = await connectClient(this.broker.port, `dev-${thingName}-${this.clients.length}`);
    this.clients.push(c);
    await c.subscribeAsync(`$aws/things/${thingName}/jobs/#`, { qos: 1 });
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true)));
    await this.jobs.close();
    await this.bus.close();
    await this.broker.close();
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Collects every message a client receives, to await and inspect them in order. */
export class Inbox {
  readonly messages: { topic: string; body: Record<string, unknown> }[] = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        body = { raw: payload.toString() };
      }
      this.messages.push({ topic, body });
    });
  }

  on(topic: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.body);
  }

  /** Waits until `count` messages arrived on `topic`; returns the last. */
  async wait(topic: string, count = 1, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.on(topic).length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} message(s) on ${topic}, got ${this.on(topic).length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.on(topic)[count - 1] ?? {};
  }

  clear(): void {
    this.messages.length = 0;
  }
}

/** Publishes a request and waits for its accepted or rejected answer. */
export async function request(
  client: MqttClient,
  inbox: Inbox,
  topic: string,
  body: unknown,
): Promise<{ outcome: 'accepted' | 'rejected'; body: Record<string, unknown> }> {
  const before = { a: inbox.on(`${topic}/accepted`).length, r: inbox.on(`${topic}/rejected`).length };
  await client.publishAsync(topic, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), {
    qos: 1,
  });
  const deadline = Date.now() + 3000;
  for (;;) {
    const a = inbox.on(`${topic}/accepted`);
    const r = inbox.on(`${topic}/rejected`);
    if (a.length > before.a) return { outcome: 'accepted', body: a[a.length - 1] ?? {} };
    if (r.length > before.r) return { outcome: 'rejected', body: r[r.length - 1] ?? {} };
    if (Date.now() > deadline) throw new Error(`no answer on ${topic}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

import type { Clock, ConnectionState, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { DurablePublish } from '../contracts.js';
import type { AgentJournal } from '../journal/types.js';
import { LoopWakeup } from '../wakeup.js';

export interface OutboxOptions {
  readonly journal: AgentJournal;
  readonly connection: Pick<MqttConnection, 'publish' | 'state' | 'onStateChange'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause after a refused or failed publish before the next attempt (default 2 s). */
  readonly retryDelayMs?: number;
  /** Rows read from the journal per pass (default 64). */
  readonly batch?: number;
}

/**
 * The durable outbox behind `DurablePublish`: a message is journaled (on disk) before `publish` resolves, then
 * sent at QoS 1 once connected, in the order written (so in order per topic), across reconnects and restarts, and
 * deleted only after its PUBACK. One message in flight at a time: a device publishes a few messages a minute, and
 * strict order is what the reported shadow and the health reports' sequence numbers rely on.
 */
export class DurableOutbox {
  readonly #o: OutboxOptions;
  readonly #wakeup: LoopWakeup;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #idleWaiters: (() => void)[] = [];
  /** Messages this outbox journaled: a pass that sent all it read, with none journaled since, needs no re-read. */
  #enqueued = 0;

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.#wakeup = new LoopWakeup(options.clock);
    this.#unsubscribe = options.connection.onStateChange((s: ConnectionState) => {
      if (s.kind === 'connected') this.#wakeup.kick();
    });
  }

  /** The contract's DurablePublish. */
  readonly publish: DurablePublish = async (topic, payload) => {
    await this.#o.journal.enqueueMessage(topic, payload);
    this.#enqueued += 1;
    this.#wakeup.kick();
  };

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Resolves once nothing is queued (tests, shutdown with a deadline). */
  async drained(): Promise<void> {
    if ((await this.#o.journal.pendingMessages(1)).length === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#wakeup.kick();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { journal, connection, logger } = this.#o;
    const batch = this.#o.batch ?? 64;
    while (!this.#closed) {
      const enqueuedBefore = this.#enqueued;
      const rows = await journal.pendingMessages(batch).catch((e: unknown) => {
        logger.error({ err: e }, 'outbox unreadable');
        return undefined;
      });
      if (rows === undefined) {
        await this.#wakeup.sleep(this.#o.retryDelayMs ?? 2_000);
        continue;
      }
      if (rows.length === 0) {
        await this.#idle();
        continue;
      }
      if (connection.state.kind !== 'connected') {
        await this.#wakeup.sleep();
        continue;
      }
      let sentAll = true;
      for (const row of rows) {
        if (this.#closed) return;
        try {
          await connection.publish(row.topic, row.payload, { qos: 1 });
        } catch (e) {
          // Closed, refused or dropped: the row stays and goes out on a later pass, still first in line.
          if (!this.#closed) logger.warn({ err: e, topic: row.topic }, 'outbox publish failed; will retry');
          if (!this.#closed) await this.#wakeup.sleep(this.#o.retryDelayMs ?? 2_000);
          sentAll = false;
          break;
        }
        await journal.deleteMessage(row.id);
      }
      // Fewer rows than asked for were all there was; sent and deleted, with nothing journaled since, the journal
      // holds none: sleep until the next publish instead of reading it again (one query less per message).
      if (sentAll && rows.length < batch && this.#enqueued === enqueuedBefore && !this.#closed) await this.#idle();
    }
  }

  /** Nothing queued: tells whoever waits for that, and sleeps until the next publish or connection. */
  async #idle(): Promise<void> {
    for (const w of this.#idleWaiters.splice(0)) w();
    await this.#wakeup.sleep();
  }
}

import type { MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { HealthStore, IncomingMessage, IngestOutcome } from './types.js';

export interface HealthIngestOptions {
  readonly bus: MessageBus;
  readonly store: HealthStore;
  /** `HEALTH_REPORT_SHARED_FILTER` where the broker delivers shared subscriptions; `dt/+/health` otherwise. */
  readonly filter: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** A batch is written when it has this many messages... */
  readonly maxBatch?: number;
  /**
   * ...or this long after its first message arrived. Default 0: at the end of the current event-loop turn, which
   * already holds every message the connection parsed from one read (delivery is pipelined).
   */
  readonly maxDelayMs?: number;
  /** A batch the store could not write is tried again after this long (doubling to 5 s). Default 100. */
  readonly retryMs?: number;
}

export interface HealthIngest {
  /** Writes what is buffered and stops taking messages; resolves once everything taken is on disk. */
  stop(): Promise<void>;
}

interface Pending {
  readonly message: IncomingMessage;
  readonly done: (outcome: IngestOutcome) => void;
}

/**
 * Health reports from the broker into the health store, in batches: one transaction (one fsync) for many
 * reports. Each message's handler resolves only when its batch is on disk, and the MQTT client sends the
 * PUBACK only then — a crash loses nothing the broker was told is taken; the broker redelivers it, and the
 * store's ordering drops the duplicate.
 */
export async function startHealthIngest(options: HealthIngestOptions): Promise<HealthIngest> {
  const maxBatch = options.maxBatch ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 0;
  const retryMs = options.retryMs ?? 100;
  const now = options.now ?? Date.now;
  let buffer: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let stopped = false;

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    // One batch at a time, in arrival order: the store's per-device ordering sees reports as they came.
    writing = writing.then(() => write(batch));
  };

  // A batch that fails is written again, never acknowledged unwritten: its handlers stay pending (so do the
  // PUBACKs after it, which go out in order); once stopped it is left so, and the broker redelivers it.
  const write = async (batch: Pending[]): Promise<void> => {
    for (let delay = retryMs; ; delay = Math.min(2 * delay, 5_000)) {
      try {
        const outcomes = await options.store.ingest(batch.map((p) => p.message));
        batch.forEach((p, i) => {
          const outcome = outcomes[i];
          if (outcome?.kind === 'dead-letter') {
            options.logger.warn(
              { topic: p.message.topic, code: outcome.code, reason: outcome.reason },
              'health report dead-lettered',
            );
          }
          if (outcome !== undefined) p.done(outcome);
          else options.logger.error({ topic: p.message.topic }, 'the store returned no outcome; left unacknowledged');
        });
        return;
      } catch (e) {
        options.logger.error(
          { err: e instanceof Error ? e : new Error(String(e)), messages: batch.length, retryInMs: delay },
          stopped ? 'health batch not written; left to the broker to redeliver' : 'health batch not written; retrying',
        );
        if (stopped) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  // Registered at once (the bus routes to it from its next message on), granted once the broker says so.
  const granted = options.bus.subscribe(
    options.filter,
    (message) => {
      // Taken after stop(): never acknowledged (a rejected handler would still be PUBACKed), so the broker
      // redelivers it to the next session instead of it being lost with this one.
      if (stopped) return new Promise<void>(() => undefined);
      return new Promise<void>((resolve) => {
        buffer.push({
          message: { topic: message.topic, payload: message.payload, receivedAt: now() },
          done: () => resolve(),
        });
        if (buffer.length >= maxBatch) flush();
        else timer ??= setTimeout(flush, maxDelayMs);
      });
    },
    { pipelined: true },
  );

  await granted;
  return {
    async stop() {
      stopped = true;
      flush();
      await writing;
    },
  };
}

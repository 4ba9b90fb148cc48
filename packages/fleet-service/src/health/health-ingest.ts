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
  /** ...or this long after its first message arrived. */
  readonly maxDelayMs?: number;
}

export interface HealthIngest {
  /** Writes what is buffered and stops taking messages; resolves once everything taken is on disk. */
  stop(): Promise<void>;
}

interface Pending {
  readonly message: IncomingMessage;
  readonly done: (outcome: IngestOutcome) => void;
  readonly failed: (e: Error) => void;
}

/**
 * Health reports from the broker into the health store, in batches: one transaction (one fsync) for many
 * reports. Each message's handler resolves only when its batch is on disk, and the MQTT client sends the
 * PUBACK only then — a crash loses nothing the broker was told is taken; the broker redelivers it, and the
 * store's ordering drops the duplicate.
 */
export async function startHealthIngest(options: HealthIngestOptions): Promise<HealthIngest> {
  const maxBatch = options.maxBatch ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 20;
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
    writing = writing.then(async () => {
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
          else p.failed(new Error('the store returned fewer outcomes than messages'));
        });
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        options.logger.error(
          { err: error, messages: batch.length },
          'health batch not written; the broker will redeliver',
        );
        for (const p of batch) p.failed(error);
      }
    });
  };

  // Registered at once (the bus routes to it from its next message on), granted once the broker says so.
  const granted = options.bus.subscribe(options.filter, (message) => {
    // Taken after stop(): never acknowledged (a rejected handler would still be PUBACKed), so the broker
    // redelivers it to the next session instead of it being lost with this one.
    if (stopped) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve, reject) => {
      buffer.push({
        message: { topic: message.topic, payload: message.payload, receivedAt: now() },
        done: () => resolve(),
        failed: reject,
      });
      if (buffer.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, maxDelayMs);
    });
  });

  await granted;
  return {
    async stop() {
      stopped = true;
      flush();
      await writing;
    },
  };
}

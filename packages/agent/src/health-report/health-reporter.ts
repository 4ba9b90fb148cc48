import { encodeHealthReport, healthReportTopic, type LastUpdate } from '@otafleet/protocol';
import type { Clock, TimerHandle } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { DurablePublish } from '../contracts.js';
import type { AgentJournal } from '../journal/types.js';
import { buildHealthReport, type HealthReportInputs } from './build-report.js';
import { takeSequence } from './sequence.js';

export interface HealthReporterOptions extends HealthReportInputs {
  readonly journal: Pick<AgentJournal, 'getMeta' | 'setMeta'>;
  /** The durable outbox: a report is on disk when this resolves and reaches the broker once it is up. */
  readonly publish: DurablePublish;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalSeconds: number;
}

/**
 * Publishes the health report (protocol v2, `dt/{thing}/health`) at start, every `intervalSeconds`, and right
 * after every update outcome (`updateFinished`). Reports are written to the outbox in order, one at a time, so
 * sequence order is delivery order.
 */
export class HealthReporter {
  readonly #o: HealthReporterOptions;
  #intervalMs: number;
  #timer: TimerHandle | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #lastUpdate: LastUpdate | undefined;
  #sent = 0;

  constructor(options: HealthReporterOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalSeconds * 1000;
    this.#lastUpdate = options.status.update().lastUpdate;
  }

  /** Reports written to the outbox by this process. */
  get sent(): number {
    return this.#sent;
  }

  start(): void {
    void this.reportNow();
  }

  /** A new schedule (the remote configuration's agent settings); the next report is due one interval from now. */
  setIntervalSeconds(seconds: number): void {
    this.#intervalMs = seconds * 1000;
    this.#arm();
  }

  /** Call when the update status may have changed: a new outcome is reported at once. */
  updateFinished(): void {
    const last = this.#o.status.update().lastUpdate;
    if (last === undefined || last === this.#lastUpdate) return;
    this.#lastUpdate = last;
    void this.reportNow();
  }

  /** Builds, journals and queues one report; resolves once it is in the outbox. */
  reportNow(): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#reportOnce())
      .catch((e: unknown) => {
        this.#o.logger.error({ err: e }, 'health report not written');
      });
    this.#arm();
    return this.#queue;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    await this.#queue;
  }

  #arm(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.reportNow();
    }, this.#intervalMs);
  }

  async #reportOnce(): Promise<void> {
    if (this.#closed) return;
    const { journal, boot, clock, logger } = this.#o;
    if (this.#o.status.slots().running === undefined) return; // nothing to say yet
    const sequence = await takeSequence(journal, boot.bootId);
    const report = buildHealthReport(this.#o, sequence, clock.now());
    if (report === undefined) return;
    const encoded = encodeHealthReport(report);
    if (!encoded.ok) {
      logger.error({ error: encoded.error }, 'health report does not pass its own schema; not sent');
      return;
    }
    await this.#o.publish(healthReportTopic(this.#o.device.thingName), encoded.value);
    this.#sent += 1;
    logger.debug({ sequence, status: report.status }, 'health report written');
  }
}

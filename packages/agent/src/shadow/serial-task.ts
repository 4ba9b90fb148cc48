import type { Clock, TimerHandle } from '@otafleet/mqtt-client';

export interface SerialTaskOptions {
  readonly clock: Clock;
  readonly retryDelayMs: number;
  readonly canRun: () => boolean;
  readonly onError: (e: unknown) => void;
}

/**
 * Runs one async job at a time on request: requests while it runs make it run once more afterwards (never twice
 * at once), requests within `schedule(ms)`'s window fold into one run, and a run that throws is tried again after
 * `retryDelayMs`. `canRun` false (offline) drops the request; whoever knows it is back schedules again.
 */
export class SerialTask {
  readonly #run: () => Promise<void>;
  readonly #o: SerialTaskOptions;
  #timer: TimerHandle | undefined;
  #retry: TimerHandle | undefined;
  #dirty = false;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(run: () => Promise<void>, options: SerialTaskOptions) {
    this.#run = run;
    this.#o = options;
  }

  schedule(ms = 0): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#dirty = true;
      this.#running ??= this.#drain().finally(() => (this.#running = undefined));
    }, ms);
  }

  /** A run is pending (timer, retry) or in progress. */
  get busy(): boolean {
    return this.#timer !== undefined || this.#retry !== undefined || this.#running !== undefined;
  }

  /** Resolves once no run is in progress (the current one finished). */
  async idle(): Promise<void> {
    await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of [this.#timer, this.#retry]) if (t !== undefined) this.#o.clock.clearTimeout(t);
    await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#dirty && !this.#closed && this.#o.canRun()) {
      this.#dirty = false;
      try {
        await this.#run();
      } catch (e) {
        if (this.#closed) return;
        this.#o.onError(e);
        if (this.#retry === undefined) {
          this.#retry = this.#o.clock.setTimeout(() => {
            this.#retry = undefined;
            this.schedule(0);
          }, this.#o.retryDelayMs);
        }
        return;
      }
    }
  }
}

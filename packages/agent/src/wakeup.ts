import type { Clock } from '@otafleet/mqtt-client';

/**
 * The wake-up of a background delivery loop (the outbox, the job-status reporter): `sleep` waits until `kick` or
 * the timeout; a kick while the loop is busy is remembered, so its next sleep returns at once and nothing queued in
 * between waits for the timeout.
 */
export class LoopWakeup {
  #wake: (() => void) | undefined;
  #kicked = false;

  constructor(private readonly clock: Clock) {}

  kick(): void {
    this.#kicked = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  sleep(ms?: number): Promise<void> {
    if (this.#kicked) {
      this.#kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : this.clock.setTimeout(() => this.kick(), ms);
      this.#wake = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        this.#kicked = false;
        resolve();
      };
    });
  }
}

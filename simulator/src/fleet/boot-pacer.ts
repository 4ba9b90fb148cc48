/**
 * At most `limit` devices of a thread booting at once (agent start, connect, subscribe). Booting thousands of
 * agents together floods the broker's thread with CONNECT and SUBSCRIBE work, so every device's handshake runs
 * late and keepalives time out; in flight, each finishes quickly and the next starts.
 */
export class BootPacer {
  readonly #limit: number;
  readonly #waiting: (() => void)[] = [];
  #inFlight = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`boot pacer: limit must be a whole number ≥ 1 (got ${String(limit)})`);
    }
    this.#limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves with a release function once a slot is free; releasing twice frees one slot. */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = (): void => {
        this.#inFlight += 1;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#inFlight -= 1;
          this.#waiting.shift()?.();
        });
      };
      if (this.#inFlight < this.#limit) grant();
      else this.#waiting.push(grant);
    });
  }
}

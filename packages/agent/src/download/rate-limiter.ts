import type { Clock } from './clock.js';

/**
 * Token bucket for the bandwidth cap, applied where bytes are read (a paused response stops the socket,
 * so the sender is held back by TCP flow control). It starts EMPTY: over any window that begins with the
 * download, no more than rate × elapsed bytes pass, so the long-run rate cannot overshoot the cap. The
 * capacity lets it catch up after a late timer (a loaded machine) without losing the rate, and bounds the
 * burst after an idle spell (a reconnect).
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: Clock,
    capacityBytes?: number,
  ) {
    this.capacity = capacityBytes ?? Math.max(64 * 1024, bytesPerSecond / 4);
    this.last = clock.now();
  }

  /** Accounts for `bytes` just read; returns how long (ms) to hold off the next read. */
  take(bytes: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.bytesPerSecond;
  }
}

/**
 * Capped exponential backoff for application restarts: `initialMs`, doubling up to `maxMs`. A run that lasted
 * `stableMs` counts as healthy and starts the sequence again, so one crash a day never waits the cap.
 */
export interface RestartBackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly stableMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoffOptions = { initialMs: 1_000, maxMs: 16_000, stableMs: 30_000 };

export class RestartBackoff {
  private next: number;

  constructor(private readonly options: RestartBackoffOptions) {
    this.next = options.initialMs;
  }

  /** The delay before the restart that follows an exit after a run of `ranMs`. */
  delayAfter(ranMs: number): number {
    if (ranMs >= this.options.stableMs) this.next = this.options.initialMs;
    const delay = this.next;
    this.next = Math.min(this.options.maxMs, this.next * 2);
    return delay;
  }

  reset(): void {
    this.next = this.options.initialMs;
  }
}

import { MqttClientError } from './errors.js';

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. Default 500 ms. */
  readonly baseMs: number;
  /** Cap on any delay. Default 30 s. */
  readonly capMs: number;
  /**
   * A connection that lasted at least this long counts as stable: when it drops, backoff starts over from the
   * first delay; a shorter one continues where the last backoff left off (a broker that accepts and then kicks
   * us does not get hammered). Default 30 s, as aws-crt's minConnectedTimeToResetReconnectDelayMs.
   */
  readonly resetAfterConnectedMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000, resetAfterConnectedMs: 30_000 };

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff And Jitter): random() * min(cap, base * 2^attempt),
 * `attempt` 0-based. Spreads a fleet that lost its broker at the same instant over the whole window.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 52));
  return Math.floor(random() * ceiling);
}

export function resolveBackoffPolicy(partial: Partial<BackoffPolicy> | undefined): BackoffPolicy {
  const policy = { ...DEFAULT_BACKOFF, ...partial };
  const { baseMs, capMs, resetAfterConnectedMs } = policy;
  if (!(Number.isFinite(baseMs) && baseMs > 0))
    throw new MqttClientError('InvalidOptions', `backoff.baseMs must be a positive number of ms, got ${baseMs}`);
  if (!(Number.isFinite(capMs) && capMs >= baseMs))
    throw new MqttClientError('InvalidOptions', `backoff.capMs must be a number >= backoff.baseMs, got ${capMs}`);
  if (!(resetAfterConnectedMs >= 0))
    throw new MqttClientError(
      'InvalidOptions',
      `backoff.resetAfterConnectedMs must be >= 0, got ${resetAfterConnectedMs}`,
    );
  return policy;
}

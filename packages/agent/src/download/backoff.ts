import { backoffDelayMs, type BackoffPolicy } from '@otafleet/mqtt-client';

/** The retry schedule of a download: capped exponential with full jitter, the agent's one formula. */
export type DownloadBackoff = Pick<BackoffPolicy, 'baseMs' | 'capMs'>;

/** A bundle store is not a broker: start at 1 s, wait up to a minute between attempts. */
export const DOWNLOAD_BACKOFF: DownloadBackoff = { baseMs: 1_000, capMs: 60_000 };

/**
 * The wait before retry number `retry` (0 = the first): random() × min(capMs, baseMs × 2^retry), so a fleet
 * that lost its bundle store at the same instant comes back spread over the window. A server's Retry-After
 * raises it (never above capMs).
 */
export function retryDelayMs(
  retry: number,
  policy: DownloadBackoff,
  random: () => number,
  retryAfterMs?: number,
): number {
  const jittered = backoffDelayMs(retry, { ...policy, resetAfterConnectedMs: 0 }, random);
  if (retryAfterMs === undefined) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, policy.capMs));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowEpochMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowEpochMs);
}

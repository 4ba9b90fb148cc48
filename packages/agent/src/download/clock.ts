import type { Clock } from '@otafleet/mqtt-client';

/**
 * Time for the downloader is the agent's one `Clock` (`@otafleet/mqtt-client`): backoff waits and the
 * bandwidth limiter's schedule go through it, so tests and the simulator's virtual time drive them. Network
 * idle timeouts stay on real timers (they guard real sockets).
 */
export type { Clock } from '@otafleet/mqtt-client';

/** Resolves after `ms` on `clock`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, clock: Clock, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

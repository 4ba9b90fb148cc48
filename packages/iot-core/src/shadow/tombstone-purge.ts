import { DELETED_SHADOW_VERSION_RETENTION_SECONDS, shadowTimestamp } from '@otafleet/protocol';
import type { Logger } from 'pino';
import type { ShadowStore } from './shadow-store.js';

const TOMBSTONE_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Tombstones past the 48 h version memory are dead weight: drops them now and then every hour (the timer
 * does not keep the process alive). Returns the stop function.
 */
export function startTombstonePurge(store: ShadowStore, now: () => number, logger: Logger): () => void {
  const purge = (): void => {
    try {
      const purged = store.purgeTombstones(shadowTimestamp(now()) - DELETED_SHADOW_VERSION_RETENTION_SECONDS);
      if (purged > 0) logger.info({ purged }, 'shadow tombstones older than 48 h removed');
    } catch (e) {
      logger.error({ err: e }, 'shadow tombstone purge failed');
    }
  };
  purge();
  const timer = setInterval(purge, TOMBSTONE_PURGE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

import { open, type FileHandle } from 'node:fs/promises';
import type { Db } from './db.js';

/**
 * Group commit without blocking the event loop on fsync.
 *
 * A commit runs with `synchronous=NORMAL`: in WAL mode SQLite then appends the transaction's frames to the
 * -wal file without syncing it. `durable` resolves once an fdatasync of the -wal file that *started after
 * the commit* has finished — on libuv's thread pool, so the event loop keeps parsing and applying the next
 * batch meanwhile. An acknowledged transaction is therefore exactly as durable as with `synchronous=FULL`
 * (whose only extra step is that same WAL sync, done inline); checkpoints still sync as usual.
 * See https://www.sqlite.org/pragma.html#pragma_synchronous and https://www.sqlite.org/wal.html.
 *
 * Concurrent callers share syncs: one fdatasync covers every commit made before it started. Anything a
 * later request read from a committed-but-not-yet-synced transaction is covered by the sync that the later
 * request waits for, so no answer ever reveals state that a power cut could take back.
 */
export interface DurableCommitter {
  /** Runs `work` in one transaction; throws (and rolls back) if it throws. */
  commit<T>(work: () => T): { readonly value: T; readonly durable: Promise<void> };
  /** Resolves after a WAL sync that started after this call. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function createDurableCommitter(db: Db): DurableCommitter {
  const walPath = db.memory ? undefined : `${db.name}-wal`;
  const tx = db.transaction(<T>(work: () => T): T => work());
  let handle: FileHandle | undefined;
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;

  const syncOnce = async (): Promise<void> => {
    if (walPath === undefined) return;
    // The -wal file lives as long as this connection is open (SQLite deletes it on the last close).
    try {
      handle ??= await open(walPath, 'r');
      await handle.datasync();
    } catch (e) {
      const stale = handle;
      handle = undefined; // reopen next time
      await stale?.close().catch(() => undefined);
      throw e;
    }
  };

  const sync = (): Promise<void> => {
    // A sync already running may have started before the caller's commit: queue (at most) one more.
    if (running === undefined) {
      running = syncOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return sync();
      });
    return next;
  };

  return {
    commit<T>(work: () => T) {
      db.pragma('synchronous = NORMAL');
      try {
        const value = tx(work) as T;
        return { value, durable: sync() };
      } finally {
        db.pragma('synchronous = FULL');
      }
    },
    sync,
    async close() {
      await Promise.allSettled([running, next]);
      await handle?.close();
      handle = undefined;
    },
  };
}

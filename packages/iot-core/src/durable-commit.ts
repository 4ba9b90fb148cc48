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
 * Syncs overlap: each commit starts its own fdatasync at once (at most MAX_CONCURRENT_SYNCS run; a caller
 * beyond that shares one queued sync that starts when a slot frees), so a commit never waits for a sync
 * that started before it to finish first. Durability still resolves in call order: a later sync finishing
 * first waits for the earlier ones, so answers leave in request order. Anything a later request read from
 * a committed-but-not-yet-synced transaction is covered by the sync that the later request waits for, so
 * no answer ever reveals state that a power cut could take back.
 */
export interface DurableCommitter {
  /** Runs `work` in one transaction; throws (and rolls back) if it throws. */
  commit<T>(work: () => T): { readonly value: T; readonly durable: Promise<void> };
  /** Resolves after a WAL sync that started after this call. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** fdatasync calls in flight at once; more would only queue in libuv's pool (4 threads) behind each other. */
const MAX_CONCURRENT_SYNCS = 2;

export function createDurableCommitter(db: Db): DurableCommitter {
  const walPath = db.memory ? undefined : `${db.name}-wal`;
  const tx = db.transaction(<T>(work: () => T): T => work());
  let handle: Promise<FileHandle> | undefined;
  const running = new Set<Promise<void>>();
  let queued:
    | { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (e: unknown) => void }
    | undefined;
  let ordered: Promise<void> = Promise.resolve();

  const syncOnce = async (): Promise<void> => {
    if (walPath === undefined) return;
    // The -wal file lives as long as this connection is open (SQLite deletes it on the last close).
    const opening = (handle ??= open(walPath, 'r'));
    try {
      await (await opening).datasync();
    } catch (e) {
      if (handle === opening) handle = undefined; // reopen next time
      await opening.then((h) => h.close()).catch(() => undefined);
      throw e;
    }
  };

  const start = (): Promise<void> => {
    const p = syncOnce().finally(() => {
      running.delete(p);
      const next = queued;
      queued = undefined;
      if (next !== undefined) start().then(next.resolve, next.reject);
    });
    running.add(p);
    return p;
  };

  /** A sync that starts now or, with every slot busy, with the next free slot. */
  const startedSync = (): Promise<void> => {
    if (running.size < MAX_CONCURRENT_SYNCS) return start();
    if (queued === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      queued = { promise, resolve, reject };
    }
    return queued.promise;
  };

  /** Resolves after this call's sync and after every earlier call's (even a failed one): in call order. */
  const sync = (): Promise<void> => {
    const own = startedSync();
    const done = ordered.then(
      () => own,
      () => own,
    );
    ordered = done.catch(() => undefined);
    return done;
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
      await ordered;
      await handle?.then((h) => h.close()).catch(() => undefined);
      handle = undefined;
    },
  };
}

import { createDurableCommitter } from '../durable-commit.js';
import type { Db } from '../db.js';

/**
 * How registry writes reach the disk. `shared-sync` (the default): writes queue up while the previous batch's WAL
 * sync runs; as soon as it ends (or at the end of the event-loop turn when none runs), everything queued runs in
 * one transaction (each write in its own savepoint), committed without an inline fsync and answered once a WAL
 * sync that started after the commit has finished. So concurrent SDK calls share the commit and the fsync, and the
 * slower the disk, the larger the batch (see durable-commit.ts). `sync-per-call`: every call commits its own transaction with synchronous=FULL, one fsync
 * each — the benchmark's baseline.
 */
export type RegistryDurability = 'shared-sync' | 'sync-per-call';

export interface RegistryCommit {
  /** Runs `work` in one transaction; resolves with its value once the transaction is on disk. */
  readonly write: <T>(work: () => T) => Promise<T>;
  /**
   * Runs `work` now (after the writes queued before it, when there are any); resolves once every write it could
   * have seen is on disk, so no answer shows undurable state.
   */
  readonly read: <T>(work: () => T) => Promise<T>;
  readonly close: () => Promise<void>;
}

/** Told the size of each committed batch: its writes and the reads queued behind them (benchmarks). */
export type WriteBatchObserver = (writes: number) => void;

interface QueuedWrite {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export function createRegistryCommit(
  db: Db,
  durability: RegistryDurability = 'shared-sync',
  onBatch?: WriteBatchObserver,
): RegistryCommit {
  if (durability === 'sync-per-call') {
    const tx = db.transaction(<T>(work: () => T): T => work());
    return {
      // An executor's throw becomes the rejection.
      write: <T>(work: () => T): Promise<T> =>
        new Promise<T>((resolve) => {
          resolve(tx(work) as T);
          onBatch?.(1);
        }),
      read: <T>(work: () => T): Promise<T> => new Promise<T>((resolve) => resolve(work())),
      close: () => Promise.resolve(),
    };
  }
  const committer = createDurableCommitter(db);
  // Called inside the batch's transaction, better-sqlite3 runs it as a savepoint: a refused write undoes only itself.
  const savepoint = db.transaction((work: () => unknown): unknown => work());
  let queue: QueuedWrite[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  /** A batch's WAL sync is running: the next batch gathers until it ends. */
  let syncing = false;
  // Durability resolves in call order, so the latest batch's promise covers every earlier commit.
  let latest: Promise<void> = Promise.resolve();
  const settledLatest = (): Promise<void> => latest.catch(() => undefined);

  const runBatch = (batch: readonly QueuedWrite[]): Outcome[] => {
    const outcomes: Outcome[] = [];
    for (const queued of batch) {
      try {
        outcomes.push({ ok: true, value: savepoint(queued.work) });
      } catch (error) {
        // SQLite itself rolled the whole transaction back (SQLITE_FULL, say): nothing of the batch survives.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  };

  const flush = (): void => {
    scheduled = undefined;
    const batch = queue;
    queue = [];
    let committed: { readonly value: Outcome[]; readonly durable: Promise<void> };
    try {
      committed = committer.commit(() => runBatch(batch));
    } catch (e) {
      // Nothing was committed; an earlier batch may still be syncing, and a refusal must not overtake it.
      void settledLatest().then(() => {
        for (const queued of batch) queued.reject(e);
      });
      return;
    }
    onBatch?.(batch.length);
    latest = committed.durable;
    syncing = true;
    void committed.durable
      .catch(() => undefined)
      .then(() => {
        syncing = false;
        // Everything that arrived during the sync goes into the next batch at once.
        if (queue.length > 0 && scheduled === undefined) flush();
      });
    // A refusal too may reveal rows of writes not yet on disk (ResourceAlreadyExists, say): it waits as well.
    committed.durable.then(
      () =>
        committed.value.forEach((outcome, i) => {
          const queued = batch[i];
          if (outcome.ok) queued?.resolve(outcome.value);
          else queued?.reject(outcome.error);
        }),
      (e: unknown) => {
        for (const queued of batch) queued.reject(e);
      },
    );
  };

  function enqueue<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      // Every call that arrives in this event-loop turn, or while the previous sync runs, shares the commit.
      if (!syncing) scheduled ??= setImmediate(flush);
    });
  }

  return {
    write: enqueue,
    async read<T>(work: () => T): Promise<T> {
      // A read sees every write called before it: behind queued writes, it runs in their batch, after them.
      if (queue.length > 0) return enqueue(work);
      let value: T;
      try {
        value = work();
      } catch (e) {
        await settledLatest();
        throw e;
      }
      await latest;
      return value;
    },
    async close() {
      if (scheduled !== undefined) clearImmediate(scheduled);
      // Writes still gathering behind a sync are committed now rather than dropped.
      while (queue.length > 0) {
        flush();
        await settledLatest();
      }
      await settledLatest();
      await committer.close();
    },
  };
}

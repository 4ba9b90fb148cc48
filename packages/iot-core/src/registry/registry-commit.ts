import { createDurableCommitter } from '../durable-commit.js';
import type { Db } from '../db.js';

/**
 * How registry writes reach the disk. `shared-sync` (the default): each call commits its own transaction
 * without an inline fsync and is answered once a WAL sync that started after it has finished, so
 * concurrent SDK calls share fsyncs (see durable-commit.ts). `sync-per-call`: every call commits with
 * synchronous=FULL, one fsync each — the benchmark's baseline.
 */
export type RegistryDurability = 'shared-sync' | 'sync-per-call';

export interface RegistryCommit {
  /** Runs `work` in one transaction; resolves with its value once the transaction is on disk. */
  readonly write: <T>(work: () => T) => Promise<T>;
  /** Runs `work` now; resolves once every write it could have seen is on disk, so no answer shows undurable state. */
  readonly read: <T>(work: () => T) => Promise<T>;
  readonly close: () => Promise<void>;
}

export function createRegistryCommit(db: Db, durability: RegistryDurability = 'shared-sync'): RegistryCommit {
  if (durability === 'sync-per-call') {
    const tx = db.transaction(<T>(work: () => T): T => work());
    return {
      // An executor's throw becomes the rejection.
      write: <T>(work: () => T): Promise<T> => new Promise<T>((resolve) => resolve(tx(work) as T)),
      read: <T>(work: () => T): Promise<T> => new Promise<T>((resolve) => resolve(work())),
      close: () => Promise.resolve(),
    };
  }
  const committer = createDurableCommitter(db);
  // Durability resolves in call order, so the latest write's promise covers every earlier commit.
  let latest: Promise<void> = Promise.resolve();
  const settledLatest = (): Promise<void> => latest.catch(() => undefined);
  return {
    async write<T>(work: () => T): Promise<T> {
      let committed: { readonly value: T; readonly durable: Promise<void> };
      try {
        committed = committer.commit(work);
      } catch (e) {
        // A refusal may reveal rows an earlier, not yet synced write made (ResourceAlreadyExists, say).
        await settledLatest();
        throw e;
      }
      latest = committed.durable;
      await committed.durable;
      return committed.value;
    },
    async read<T>(work: () => T): Promise<T> {
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
      await settledLatest();
      await committer.close();
    },
  };
}

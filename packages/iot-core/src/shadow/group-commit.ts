import type { StoredShadow } from '@otafleet/protocol';
import type { DurableCommitter } from '../durable-commit.js';
import type { ShadowKey, ShadowStore, ShadowWrite } from './shadow-store.js';

interface Pending {
  readonly committed: () => void;
  readonly failed: (error: unknown) => void;
}

const keyOf = (k: ShadowKey): string => `${k.thingName}\u0000${k.shadowName ?? ''}`;

/**
 * Group commit: every request of one event-loop turn is applied to an in-memory overlay of uncommitted
 * shadows, written in one SQLite transaction at the end of the turn, and only then answered. Requests
 * in the same turn see each other's effects (through the overlay) in arrival order; if the commit fails
 * every answer of the batch becomes a failure and the overlay is dropped.
 * Several updates of one shadow in a batch become one row write (the last): the transaction is atomic,
 * so the intermediate versions could never be read back from disk anyway.
 */
export class GroupCommit {
  /** The uncommitted writes of the batch, one per shadow; also the overlay that reads see. */
  private overlay = new Map<string, ShadowWrite>();
  private pending: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly store: ShadowStore,
    private readonly committer: DurableCommitter,
    /** Told which shadows a batch wrote once it is durable (fleet indexing, dynamic thing groups). */
    private readonly onDurable: (keys: readonly ShadowKey[]) => void = () => undefined,
  ) {}

  /** The latest shadow including uncommitted writes of the current batch. */
  read(key: ShadowKey): StoredShadow | undefined {
    return this.overlay.get(keyOf(key))?.shadow ?? this.store.load(key);
  }

  write(write: ShadowWrite): void {
    this.overlay.set(keyOf(write.key), write);
  }

  /** Runs `committed` after the batch holding everything enqueued so far is durable. */
  afterCommit(committed: () => void, failed: (error: unknown) => void): void {
    this.pending.push({ committed, failed });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const writes = [...this.overlay.values()];
    const pending = this.pending;
    this.overlay = new Map();
    this.pending = [];
    let durable: Promise<void>;
    try {
      // A batch of reads only still waits for the WAL sync: what it read may be committed but not yet synced.
      if (writes.length > 0) {
        durable = this.committer.commit(() => this.store.saveAll(writes)).durable;
        this.store.committed(writes);
      } else {
        durable = this.committer.sync();
      }
    } catch (e) {
      for (const p of pending) p.failed(e); // the batch's overlay is gone: reads see the store again
      return;
    }
    this.durable = durable.then(
      () => {
        if (writes.length > 0) this.onDurable(writes.map((w) => w.key));
        for (const p of pending) p.committed();
      },
      (e: unknown) => {
        for (const p of pending) p.failed(e);
      },
    );
  }

  /** Settles once every batch flushed so far has been answered. */
  drained: () => Promise<void> = () => this.durable;
  private durable: Promise<void> = Promise.resolve();
}

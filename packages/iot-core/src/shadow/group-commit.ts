import type { StoredShadow } from '@otafleet/protocol';
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
 */
export class GroupCommit {
  private readonly overlay = new Map<string, StoredShadow>();
  private writes: ShadowWrite[] = [];
  private pending: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly store: ShadowStore) {}

  /** The latest shadow including uncommitted writes of the current batch. */
  read(key: ShadowKey): StoredShadow | undefined {
    return this.overlay.get(keyOf(key)) ?? this.store.load(key);
  }

  write(write: ShadowWrite): void {
    this.overlay.set(keyOf(write.key), write.shadow);
    this.writes.push(write);
  }

  /** Runs `committed` after the batch holding everything enqueued so far is durable. */
  afterCommit(committed: () => void, failed: (error: unknown) => void): void {
    this.pending.push({ committed, failed });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const writes = this.writes;
    const pending = this.pending;
    this.writes = [];
    this.pending = [];
    try {
      if (writes.length > 0) this.store.saveAll(writes);
    } catch (e) {
      this.overlay.clear();
      for (const p of pending) p.failed(e);
      return;
    }
    this.overlay.clear();
    for (const p of pending) p.committed();
  }
}

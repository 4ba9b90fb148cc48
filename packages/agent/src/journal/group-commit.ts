import type Database from 'better-sqlite3';

/** Runs one journal call's SQL and gives its result. */
export type JournalCall = <T>(fn: () => T) => Promise<T>;

interface Queued {
  readonly fn: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: Error) => void;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Each call its own transaction, committed (on disk) before the promise settles. */
export const immediateCall: JournalCall = <T>(fn: () => T): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(asError(e));
  }
};

/**
 * Group commit for a database many devices share (the simulator): calls made in the same turn of the event loop
 * run in order in ONE transaction, and every promise settles only after its COMMIT (one fsync for the group, not
 * one per call). A call that throws rejects alone; a failed COMMIT rejects the whole group. Reads are queued too, so
 * each sees the writes made before it. BEGIN IMMEDIATE: the write lock is taken (waiting up to the busy timeout)
 * before the first statement, so a group never fails on upgrading a read to a write while another connection of
 * the same file (another worker) writes.
 */
export function groupCommitCall(db: Database.Database): { readonly call: JournalCall; flush(): void } {
  let queue: Queued[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const results: ({ ok: true; value: unknown } | { ok: false; error: Error })[] = [];
    try {
      db.transaction(() => {
        for (const q of group) {
          try {
            results.push({ ok: true, value: q.fn() });
          } catch (e) {
            results.push({ ok: false, error: asError(e) });
          }
        }
      }).immediate();
    } catch (e) {
      for (const q of group) q.reject(asError(e));
      return;
    }
    group.forEach((q, i) => {
      const r = results[i]!;
      if (r.ok) q.resolve(r.value);
      else q.reject(r.error);
    });
  };
  const call: JournalCall = <T>(fn: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  return { call, flush };
}

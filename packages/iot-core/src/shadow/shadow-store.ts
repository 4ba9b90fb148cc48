import type { ShadowSections, StoredShadow } from '@otafleet/protocol';
import { migrate, type Db } from '../db.js';

/** Row key: the classic shadow is stored under the empty name, which no named shadow can have. */
export interface ShadowKey {
  readonly thingName: string;
  readonly shadowName?: string;
}

export interface ShadowWrite {
  readonly key: ShadowKey;
  readonly shadow: StoredShadow;
  readonly updatedAt: number;
  /** `JSON.stringify(shadow.state)` when the caller already has it. */
  readonly stateJson?: string;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE shadow_documents (
     thing_name  TEXT    NOT NULL,
     shadow_name TEXT    NOT NULL,
     version     INTEGER NOT NULL,
     deleted     INTEGER NOT NULL,
     state       TEXT    NOT NULL,
     metadata    TEXT    NOT NULL,
     updated_at  INTEGER NOT NULL,
     PRIMARY KEY (thing_name, shadow_name)
   ) WITHOUT ROWID`,
];

interface ShadowRow {
  version: number;
  deleted: number;
  state: string;
  metadata: string;
  updated_at: number;
}

/** SQLite persistence of shadow documents; versions of deleted shadows are kept as tombstones. */
export interface ShadowStore {
  load(key: ShadowKey): StoredShadow | undefined;
  /** Writes all in one transaction: all durable, or none (throws). */
  saveAll(writes: readonly ShadowWrite[]): void;
  /** Tells the read cache that the transaction holding `writes` committed (call only after the COMMIT). */
  committed(writes: readonly ShadowWrite[]): void;
  /** Live named shadows of a thing, in name order, after `after` (exclusive). */
  listNamed(thingName: string, after: string, limit: number): string[];
  /** Deletes tombstones of shadows deleted before `deletedBefore` (epoch seconds); returns how many. */
  purgeTombstones(deletedBefore: number): number;
}

/** Recently used shadows kept parsed in memory (stored shadows are immutable values). */
const DEFAULT_CACHE_ENTRIES = 100_000;
const cacheKey = (k: ShadowKey): string => `${k.thingName}\u0000${k.shadowName ?? ''}`;

export function openShadowStore(db: Db, cacheEntries = DEFAULT_CACHE_ENTRIES): ShadowStore {
  migrate(db, 'shadow', MIGRATIONS);
  // Read-through cache of committed rows, refreshed only after a successful commit, so every update does not
  // pay a SELECT plus two JSON.parse. Map order is recency order: the oldest entry is evicted first.
  const cache = new Map<string, StoredShadow | null>();
  const remember = (key: string, shadow: StoredShadow | null): void => {
    cache.delete(key);
    cache.set(key, shadow);
    if (cache.size > cacheEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
  };
  const select = db.prepare<[string, string], ShadowRow>(
    'SELECT version, deleted, state, metadata, updated_at FROM shadow_documents WHERE thing_name = ? AND shadow_name = ?',
  );
  const upsert = db.prepare<[string, string, number, number, string, string, number]>(
    `INSERT INTO shadow_documents (thing_name, shadow_name, version, deleted, state, metadata, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (thing_name, shadow_name) DO UPDATE SET
       version = excluded.version, deleted = excluded.deleted, state = excluded.state,
       metadata = excluded.metadata, updated_at = excluded.updated_at`,
  );
  const purge = db.prepare<[number]>('DELETE FROM shadow_documents WHERE deleted = 1 AND updated_at < ?');
  const list = db.prepare<[string, string, number], { shadow_name: string }>(
    `SELECT shadow_name FROM shadow_documents
     WHERE thing_name = ? AND shadow_name > ? AND deleted = 0 ORDER BY shadow_name LIMIT ?`,
  );
  const saveAll = db.transaction((writes: readonly ShadowWrite[]) => {
    for (const { key, shadow, updatedAt, stateJson } of writes) {
      upsert.run(
        key.thingName,
        key.shadowName ?? '',
        shadow.version,
        shadow.deleted ? 1 : 0,
        stateJson ?? JSON.stringify(shadow.state),
        JSON.stringify(shadow.metadata),
        updatedAt,
      );
    }
  });
  return {
    load(key) {
      const k = cacheKey(key);
      const cached = cache.get(k);
      if (cached !== undefined) return cached ?? undefined;
      const row = select.get(key.thingName, key.shadowName ?? '');
      const shadow: StoredShadow | null =
        row === undefined
          ? null
          : row.deleted === 1
            ? // A tombstone's updated_at is the time of its delete.
              { state: {}, metadata: {}, version: row.version, deleted: true, deletedAt: row.updated_at }
            : {
                state: JSON.parse(row.state) as ShadowSections,
                metadata: JSON.parse(row.metadata) as ShadowSections,
                version: row.version,
                deleted: false,
              };
      remember(k, shadow);
      return shadow ?? undefined;
    },
    saveAll(writes) {
      saveAll(writes);
    },
    committed(writes) {
      for (const w of writes) remember(cacheKey(w.key), w.shadow);
    },
    purgeTombstones(deletedBefore) {
      // Cached tombstones may stay: past the retention the shadow algebra treats them as no shadow.
      return purge.run(deletedBefore).changes;
    },
    listNamed(thingName, after, limit) {
      // The classic shadow's row has the empty name, which sorts first and is never "> after".
      return list.all(thingName, after, limit).map((r) => r.shadow_name);
    },
  };
}

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { VirtualSlotStore } from '@otafleet/agent';

/**
 * The virtual devices' slot records: one row per device in the shared journal file (its own table), written
 * through at once (committed before `set` returns), cached in memory for reads. Each thread has its own connection; a device lives in one thread, so its row has one writer.
 */
export interface SqliteSlotStore extends VirtualSlotStore {
  close(): void;
}

export function openSqliteSlotStore(path: string): SqliteSlotStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL: a write survives the simulator process dying (it is in the WAL); only the real machine losing power
  // could lose the last ones. The simulated power cuts never lose a committed write either way, and one fsync
  // per slot write would serialize every device's boot step on the disk.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec('CREATE TABLE IF NOT EXISTS virtual_slots (thing TEXT PRIMARY KEY, record TEXT NOT NULL)');
  const get = db.prepare('SELECT record FROM virtual_slots WHERE thing = ?');
  const put = db.prepare(
    'INSERT INTO virtual_slots (thing, record) VALUES (?, ?) ON CONFLICT (thing) DO UPDATE SET record = excluded.record',
  );
  const cache = new Map<string, string>();
  return {
    get(key) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const row = get.get(key) as { record: string } | undefined;
      if (row !== undefined) cache.set(key, row.record);
      return row?.record;
    },
    set(key, value) {
      put.run(key, value);
      cache.set(key, value);
    },
    close: () => db.close(),
  };
}

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { VirtualSlotStore } from '@otafleet/agent';

/**
 * The virtual devices' slot records: one row per device in the shared journal file (its own table). Reads come from
 * memory: every row is loaded at open, so a device's first boot asks the file nothing (a missing row is a new
 * device). Writes made in one turn of the event loop are committed together in one transaction at the end of that
 * turn (and at close): a device lives in one thread and each thread has its own connection, so a row has one
 * writer and its cached value is the truth. A simulated power cut stops an agent, not this process, so it never
 * loses a write either way; only the simulator process dying could lose the last turn's.
 */
export interface SqliteSlotStore extends VirtualSlotStore {
  close(): void;
}

export function openSqliteSlotStore(path: string): SqliteSlotStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL: a write survives the simulator process dying (it is in the WAL); only the real machine losing power
  // could lose the last ones, which no scenario needs.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec('CREATE TABLE IF NOT EXISTS virtual_slots (thing TEXT PRIMARY KEY, record TEXT NOT NULL)');
  const put = db.prepare(
    'INSERT INTO virtual_slots (thing, record) VALUES (?, ?) ON CONFLICT (thing) DO UPDATE SET record = excluded.record',
  );
  const cache = new Map<string, string>();
  for (const row of db.prepare('SELECT thing, record FROM virtual_slots').iterate() as IterableIterator<{
    thing: string;
    record: string;
  }>)
    cache.set(row.thing, row.record);
  let pending = new Map<string, string>();
  let scheduled = false;
  const writeAll = db.transaction((rows: Map<string, string>) => {
    for (const [key, value] of rows) put.run(key, value);
  });
  const flush = (): void => {
    scheduled = false;
    if (pending.size === 0 || !db.open) return;
    const rows = pending;
    pending = new Map();
    writeAll.immediate(rows);
  };
  return {
    get: (key) => cache.get(key),
    set(key, value) {
      cache.set(key, value);
      pending.set(key, value);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close: () => {
      flush();
      db.close();
    },
  };
}

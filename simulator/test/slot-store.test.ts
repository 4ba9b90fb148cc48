/** The shared slot store: rows loaded at open, a turn's writes committed together, nothing lost at close. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteSlotStore } from '../src/fleet/slot-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const fileIn = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'sim-slots-'));
  dirs.push(d);
  return join(d, 'journal.db');
};
const rowsOf = (path: string): Record<string, string> => {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT thing, record FROM virtual_slots ORDER BY thing').all() as {
    thing: string;
    record: string;
  }[];
  db.close();
  return Object.fromEntries(rows.map((r) => [r.thing, r.record]));
};
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('virtual slot store', () => {
  it('reads its writes at once, commits a turn of writes together at its end, and reopens with every row', async () => {
    const path = fileIn();
    const store = openSqliteSlotStore(path);
    expect(store.get('a')).toBeUndefined();
    store.set('a', '{"v":1}');
    store.set('b', '{"v":1}');
    store.set('a', '{"v":2}');
    expect(store.get('a')).toBe('{"v":2}');
    // Not in the file yet: the turn has not ended.
    expect(rowsOf(path)).toEqual({});
    await nextTurn();
    expect(rowsOf(path)).toEqual({ a: '{"v":2}', b: '{"v":1}' });
    store.set('c', '{"v":3}');
    store.close(); // flushes the turn's writes
    expect(rowsOf(path)).toEqual({ a: '{"v":2}', b: '{"v":1}', c: '{"v":3}' });

    const again = openSqliteSlotStore(path);
    expect([again.get('a'), again.get('b'), again.get('c'), again.get('d')]).toEqual([
      '{"v":2}',
      '{"v":1}',
      '{"v":3}',
      undefined,
    ]);
    again.close();
  });
});

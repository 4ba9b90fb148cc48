/** Group commit: many devices' calls in one transaction, each promise settled only once its group is on disk. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteJournal } from '@otafleet/agent';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-group-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the SQLite journal with group commit', () => {
  it('commits the calls of one turn together, in order, and they are on disk when they resolve', async () => {
    const path = join(dir, 'journal.db');
    const db = openSqliteJournal(path, { groupCommit: true });
    const things = Array.from({ length: 200 }, (_v, i) => db.forThing(`dev-${i}`));
    const other = new Database(path, { readonly: true });
    const count = (): number => (other.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;

    const ids = things.map((j, i) => j.enqueueMessage(`t/${i}`, 'p'));
    const meta = things.map((j, i) => j.setMeta('k', String(i)));
    // Nothing is written before the turn ends: the group is one transaction.
    expect(count()).toBe(0);
    const got = await Promise.all(ids);
    await Promise.all(meta);
    // Resolved means committed: another connection sees all of them.
    expect(count()).toBe(200);
    expect(new Set(got).size).toBe(200);
    // A read queued after a write in the same turn sees it.
    const write = things[0]!.setMeta('k', 'changed');
    const read = things[0]!.getMeta('k');
    await write;
    expect(await read).toBe('changed');
    expect(await things[7]!.pendingMessages(10)).toEqual([{ id: got[7], topic: 't/7', payload: 'p' }]);
    other.close();
    db.close();
  });

  it('rejects a failing call alone; the rest of its group commits', async () => {
    const path = join(dir, 'journal.db');
    const db = openSqliteJournal(path, { groupCommit: true });
    const a = db.forThing('a');
    const ok = a.setMeta('x', '1');
    // A NOT NULL column given null: this call fails inside the group.
    const bad = a.enqueueMessage('t', null as unknown as string);
    const ok2 = a.setMeta('y', '2');
    await expect(bad).rejects.toThrow(/NOT NULL/);
    await Promise.all([ok, ok2]);
    db.close();
    const again = openSqliteJournal(path).forThing('a');
    expect([await again.getMeta('x'), await again.getMeta('y')]).toEqual(['1', '2']);
    expect(await again.pendingMessages(5)).toEqual([]);
  });
});

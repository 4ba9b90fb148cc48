import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../src/db.js';
import { createDurableCommitter } from '../src/durable-commit.js';

let dir: string | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = dir = undefined;
});

function open(): { db: Db; path: string } {
  dir = mkdtempSync(join(tmpdir(), 'durable-'));
  const path = join(dir, 'x.sqlite');
  db = openDatabase(path);
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return { db, path };
}

describe('durable committer', () => {
  it('commits, then resolves durable once the WAL is synced; other connections see the row', async () => {
    const { db, path } = open();
    const committer = createDurableCommitter(db);
    const { value, durable } = committer.commit(() => db.prepare('INSERT INTO t VALUES (?, ?)').run('a', 1).changes);
    expect(value).toBe(1);
    await durable;
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT v FROM t WHERE k = ?').get('a')).toEqual({ v: 1 });
    reader.close();
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL again for everyone else
    await committer.close();
  });

  it('rolls back everything when the work throws, and restores synchronous=FULL', async () => {
    const { db } = open();
    const committer = createDurableCommitter(db);
    expect(() =>
      committer.commit(() => {
        db.prepare('INSERT INTO t VALUES (?, ?)').run('b', 2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    await committer.close();
  });

  it('coalesces concurrent syncs and resolves them in commit order', async () => {
    const { db } = open();
    const committer = createDurableCommitter(db);
    const order: number[] = [];
    const all = Array.from({ length: 50 }, (_v, i) => {
      const { durable } = committer.commit(() => db.prepare('INSERT INTO t VALUES (?, ?)').run(`k${i}`, i));
      return durable.then(() => order.push(i));
    });
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: 50 }, (_v, i) => i));
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 50 });
    await committer.close();
  });

  it('overlapping syncs across event-loop turns still resolve in commit order', async () => {
    const { db } = open();
    const committer = createDurableCommitter(db);
    const order: number[] = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const { durable } = committer.commit(() => db.prepare('INSERT INTO t VALUES (?, ?)').run(`k${i}`, i));
      all.push(durable.then(() => order.push(i)));
      if (i % 3 === 0) all.push(committer.sync().then(() => order.push(-1)));
      // Let some syncs start and finish while later commits arrive.
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    const commits = order.filter((i) => i >= 0);
    expect(commits).toEqual(Array.from({ length: 120 }, (_v, i) => i));
    // A bare sync() resolves in the same sequence: right after the commit it was called behind.
    let previous = -1;
    for (const i of order) {
      if (i >= 0) previous = i;
      else expect(previous % 3).toBe(0);
    }
    await committer.close();
  });

  it('works for an in-memory database (nothing to sync)', async () => {
    db = openDatabase(':memory:');
    db.exec('CREATE TABLE t (k TEXT)');
    const committer = createDurableCommitter(db);
    await committer.commit(() => db?.prepare('INSERT INTO t VALUES (?)').run('m')).durable;
    expect(db.prepare('SELECT k FROM t').get()).toEqual({ k: 'm' });
    await committer.close();
  });
});

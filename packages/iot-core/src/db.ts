import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the core's SQLite file in WAL mode. synchronous=FULL: a committed
 * transaction survives power loss, which is what "acknowledged" means in this project; writers
 * batch many updates per transaction to amortise the fsync.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Applies numbered migrations for one component once each, in order. Each component (registry,
 * shadows, jobs) owns its own tables and its own migration list; numbers never change once shipped.
 */
export function migrate(db: Db, component: string, steps: readonly string[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (component, step))',
  );
  const done = db.prepare('SELECT step FROM schema_migrations WHERE component = ?').all(component) as {
    step: number;
  }[];
  const applied = new Set(done.map((r) => r.step));
  const record = db.prepare('INSERT INTO schema_migrations (component, step) VALUES (?, ?)');
  steps.forEach((sql, i) => {
    if (applied.has(i)) return;
    db.transaction(() => {
      db.exec(sql);
      record.run(component, i);
    })();
  });
}

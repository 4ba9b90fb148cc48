import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { lockDataDir } from '@otafleet/runtime';

/**
 * Backups of the fleet service's data directory as ONE SQLite file: each live database copied with SQLite's
 * online backup (consistent while the service writes), plus the files a restored service needs to go on — the
 * bundle-URL key and the bundle files (content-addressed, so a restore adds only what is missing).
 */
export const BACKUP_FORMAT = 'otafleet-fleet-backup';
export const BACKUP_FORMAT_VERSION = 1;

/** The service's SQLite files, relative to its data directory. */
export const FLEET_DATABASES = ['rollouts.sqlite', 'health.sqlite', 'tokens.sqlite', 'bundles/bundles.db'] as const;
const KEY_FILE = 'bundle-url.key';
const BACKUP_PAGES_PER_STEP = 2048;
const BUNDLE_FILES = 'bundles/sha256';

export interface BackupInfo {
  readonly file: string;
  readonly name: string;
  readonly bytes: number;
  readonly createdAt: string;
  readonly databases: readonly string[];
  readonly bundleFiles: number;
}

export interface RestoreReport {
  readonly dataDir: string;
  readonly createdAt: string;
  readonly databases: readonly string[];
  /** Bundle files written (the others were there already). */
  readonly bundleFilesAdded: number;
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: 'NOT_A_BACKUP' | 'BACKUP_DAMAGED' | 'NO_SUCH_FILE',
    message: string,
  ) {
    super(message);
  }
}

const BACKUP_NAME = /^fleet-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.sqlite$/;
export const isBackupName = (name: string): boolean => BACKUP_NAME.test(name);
export const backupNameAt = (at: number): string =>
  `fleet-backup-${new Date(at).toISOString().replace(/[:.]/g, '-')}.sqlite`;

/** Where `--out` points: a directory (the file gets the standard name) or a file path. */
export function backupTarget(out: string, at: number): string {
  return existsSync(out) && statSync(out).isDirectory() ? join(out, backupNameAt(at)) : out;
}

/** Takes a backup of `dataDir` into `file` (written whole, then renamed into place: never half a backup). */
export async function takeBackup(dataDir: string, file: string, at: number): Promise<BackupInfo> {
  mkdirSync(dirname(file), { recursive: true });
  const part = `${file}.part`;
  rmSync(part, { force: true });
  const snapshots = join(dirname(file), `.${basename(file)}.snapshots`);
  mkdirSync(snapshots, { recursive: true });
  const databases: string[] = [];
  let bundleFiles = 0;
  const out = new Database(part);
  try {
    out.exec(
      'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE entry (path TEXT PRIMARY KEY, kind TEXT NOT NULL, content BLOB NOT NULL);',
    );
    const put = out.prepare('INSERT INTO entry (path, kind, content) VALUES (?, ?, ?)');
    for (const db of FLEET_DATABASES) {
      const path = join(dataDir, db);
      if (!existsSync(path)) continue;
      const snapshot = join(snapshots, db.replace(/\//g, '_'));
      const source = new Database(path, { readonly: true, fileMustExist: true });
      try {
        // 2,048 pages (8 MB at 4 KB) per step: few event-loop turns, none long enough to stall the API.
        await source.backup(snapshot, { progress: () => BACKUP_PAGES_PER_STEP });
      } finally {
        source.close();
      }
      put.run(db, 'database', readFileSync(snapshot));
      databases.push(db);
    }
    if (existsSync(join(dataDir, KEY_FILE))) put.run(KEY_FILE, 'file', readFileSync(join(dataDir, KEY_FILE)));
    const bundlesDir = join(dataDir, BUNDLE_FILES);
    if (existsSync(bundlesDir)) {
      for (const name of readdirSync(bundlesDir).filter((n) => n.endsWith('.otab'))) {
        put.run(`${BUNDLE_FILES}/${name}`, 'bundle', readFileSync(join(bundlesDir, name)));
        bundleFiles++;
      }
    }
    const createdAt = new Date(at).toISOString();
    const meta = out.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run('format', BACKUP_FORMAT);
    meta.run('version', String(BACKUP_FORMAT_VERSION));
    meta.run('createdAt', createdAt);
    out.close();
    renameSync(part, file);
    return { file, name: basename(file), bytes: statSync(file).size, createdAt, databases, bundleFiles };
  } catch (e) {
    if (out.open) out.close();
    rmSync(part, { force: true });
    throw e;
  } finally {
    rmSync(snapshots, { recursive: true, force: true });
  }
}

function openBackup(file: string): { db: Database.Database; createdAt: string } {
  if (!existsSync(file)) throw new BackupError('NO_SUCH_FILE', `no such file: ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const meta = new Map(
      db
        .prepare<[], { key: string; value: string }>('SELECT key, value FROM meta')
        .all()
        .map((r) => [r.key, r.value]),
    );
    if (meta.get('format') !== BACKUP_FORMAT) throw new Error('wrong format');
    if (meta.get('version') !== String(BACKUP_FORMAT_VERSION)) {
      db.close();
      throw new BackupError(
        'NOT_A_BACKUP',
        `${file} is a fleet backup of format version ${meta.get('version') ?? '?'}; this service reads version ${BACKUP_FORMAT_VERSION}`,
      );
    }
    return { db, createdAt: meta.get('createdAt') ?? '' };
  } catch (e) {
    if (e instanceof BackupError) throw e;
    throw new BackupError(
      'NOT_A_BACKUP',
      `${file} is not a fleet service backup (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/**
 * Restores a backup into `dataDir`. Refuses to run onto the data directory of a running service (it takes the
 * directory's lock, which the service holds while it runs): stop the service first. Every database is checked
 * (integrity_check) before anything is replaced, so a damaged backup changes nothing.
 */
export function restoreBackup(file: string, dataDir: string): RestoreReport {
  const { db, createdAt } = openBackup(file);
  try {
    const entries = db
      .prepare<[], { path: string; kind: string; content: Buffer }>(
        'SELECT path, kind, content FROM entry ORDER BY path',
      )
      .all();
    const lock = lockDataDir(
      dataDir,
      'fleet restore',
      'stop the fleet service first: a restore never runs onto a live service',
    );
    try {
      const staged: { tmp: string; target: string }[] = [];
      try {
        for (const e of entries.filter((x) => x.kind === 'database')) {
          if (!(FLEET_DATABASES as readonly string[]).includes(e.path)) {
            throw new BackupError('BACKUP_DAMAGED', `${file}: unexpected database ${e.path}`);
          }
          const target = join(dataDir, e.path);
          mkdirSync(dirname(target), { recursive: true });
          const tmp = `${target}.restoring`;
          writeFileSync(tmp, e.content, { mode: 0o600 });
          staged.push({ tmp, target });
          const check = new Database(tmp, { readonly: true, fileMustExist: true });
          const verdict = check.pragma('integrity_check', { simple: true });
          check.close();
          // Opening a WAL-mode file for the check leaves its -wal and -shm beside it; they are empty and not needed.
          rmSync(`${tmp}-wal`, { force: true });
          rmSync(`${tmp}-shm`, { force: true });
          if (verdict !== 'ok')
            throw new BackupError('BACKUP_DAMAGED', `${file}: ${e.path} fails its integrity check: ${String(verdict)}`);
        }
      } catch (e) {
        for (const s of staged) for (const f of [s.tmp, `${s.tmp}-wal`, `${s.tmp}-shm`]) rmSync(f, { force: true });
        throw e;
      }
      for (const { tmp, target } of staged) {
        // The old write-ahead log belongs to the old file: left next to the restored one, SQLite would replay it.
        rmSync(`${target}-wal`, { force: true });
        rmSync(`${target}-shm`, { force: true });
        renameSync(tmp, target);
      }
      let bundleFilesAdded = 0;
      for (const e of entries.filter((x) => x.kind !== 'database')) {
        const target = join(dataDir, e.path);
        if (e.kind === 'bundle' && existsSync(target) && statSync(target).size === e.content.length) continue;
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(`${target}.restoring`, e.content, { mode: 0o600 });
        renameSync(`${target}.restoring`, target);
        if (e.kind === 'bundle') bundleFilesAdded++;
      }
      return { dataDir, createdAt, databases: staged.map((s) => s.target.slice(dataDir.length + 1)), bundleFilesAdded };
    } finally {
      lock.release();
    }
  } finally {
    db.close();
  }
}

/** Backups in `dir`, newest first (the name holds the time). */
export function listBackups(dir: string): BackupInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isBackupName)
    .sort()
    .reverse()
    .map((name) => {
      const file = join(dir, name);
      const stamp = name.slice('fleet-backup-'.length, -'.sqlite'.length);
      const createdAt = stamp.replace(/^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/, '$1:$2:$3.$4Z');
      return { file, name, bytes: statSync(file).size, createdAt, databases: [], bundleFiles: 0 };
    });
}

/** Keeps the `keep` newest backups in `dir`; returns the names removed. */
export function pruneBackups(dir: string, keep: number): string[] {
  const removed = listBackups(dir).slice(Math.max(0, keep));
  for (const b of removed) rmSync(b.file, { force: true });
  return removed.map((b) => b.name);
}

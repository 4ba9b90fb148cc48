import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { UpdateRecord } from '../update/record.js';
import type {
  AgentJournal,
  JournalDatabase,
  JournalReset,
  LoadedUpdate,
  QueuedJobUpdate,
  StoredJobUpdate,
  StoredMessage,
} from './types.js';
import { groupCommitCall, immediateCall, type JournalCall } from './group-commit.js';
import { decodeUpdateRecord, encodeUpdateRecord, UPDATE_RECORD_SCHEMA_VERSION } from './update-codec.js';

/** The file's layout version (PRAGMA user_version). Another version is treated as unreadable. */
export const JOURNAL_FILE_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS update_state (
  thing TEXT PRIMARY KEY, job_id TEXT NOT NULL, schema_version INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS download_offset (
  thing TEXT NOT NULL, job_id TEXT NOT NULL, offset INTEGER NOT NULL, PRIMARY KEY (thing, job_id));
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, thing TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_thing ON outbox (thing, id);
CREATE TABLE IF NOT EXISTS job_update (
  id INTEGER PRIMARY KEY AUTOINCREMENT, thing TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS job_update_thing ON job_update (thing, id);
CREATE TABLE IF NOT EXISTS device_meta (
  thing TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (thing, key));
`;

type Db = Database.Database;

/** Why a file cannot be used, or undefined when it can. */
function checkFile(db: Db): string | undefined {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== 0 && version !== JOURNAL_FILE_VERSION) {
    return `journal file version ${version}, this agent reads ${JOURNAL_FILE_VERSION}`;
  }
  const check = db.pragma('quick_check', { simple: true }) as string;
  return check === 'ok' ? undefined : `SQLite quick_check: ${check}`;
}

function openFile(path: string): Db {
  const db = new Database(path);
  // WAL + synchronous=FULL: a committed transaction is on disk (the WAL is fsynced at commit).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Opens the file or, when it is unreadable, puts it aside (with its WAL) and starts an empty one. */
function openOrReset(path: string, now: () => number): { db: Db; reset: JournalReset | undefined } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let problem: string | undefined;
  try {
    const db = openFile(path);
    problem = checkFile(db);
    if (problem === undefined) return { db, reset: undefined };
    db.close();
  } catch (e) {
    problem = `SQLite: ${(e as Error).message}`;
  }
  const keptAt = `${path}.corrupt-${now()}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, keptAt + suffix);
  }
  return { db: openFile(path), reset: { detail: problem, keptAt } };
}

/**
 * The agent's journal in one SQLite file. Each call is one transaction, committed (and so on disk) before its
 * promise resolves. better-sqlite3 is synchronous: a device does a handful of writes per state. With `groupCommit`
 * (the simulator, which puts thousands of devices in one file) the calls of one event-loop turn share one
 * transaction, still committed before any of their promises resolve.
 */
export function openSqliteJournal(
  path: string,
  options: { readonly now?: () => number; readonly groupCommit?: boolean } = {},
): JournalDatabase {
  const { db, reset } = openOrReset(path, options.now ?? Date.now);
  const group = options.groupCommit === true ? groupCommitCall(db) : undefined;
  const run = group?.call ?? immediateCall;
  db.exec(SCHEMA);
  db.pragma(`user_version = ${JOURNAL_FILE_VERSION}`);
  const q: Queries = {
    loadUpdate: db.prepare('SELECT job_id, schema_version, body FROM update_state WHERE thing = ?'),
    saveUpdate: db.prepare(
      'INSERT INTO update_state (thing, job_id, schema_version, body) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (thing) DO UPDATE SET job_id = excluded.job_id, schema_version = excluded.schema_version, body = excluded.body',
    ),
    clearUpdate: db.prepare('DELETE FROM update_state WHERE thing = ?'),
    loadOffset: db.prepare('SELECT offset FROM download_offset WHERE thing = ? AND job_id = ?'),
    saveOffset: db.prepare(
      'INSERT INTO download_offset (thing, job_id, offset) VALUES (?, ?, ?) ON CONFLICT (thing, job_id) DO UPDATE SET offset = excluded.offset',
    ),
    clearOffset: db.prepare('DELETE FROM download_offset WHERE thing = ? AND job_id = ?'),
    enqueue: db.prepare('INSERT INTO outbox (thing, topic, payload) VALUES (?, ?, ?)'),
    pending: db.prepare('SELECT id, topic, payload FROM outbox WHERE thing = ? ORDER BY id LIMIT ?'),
    deleteMessage: db.prepare('DELETE FROM outbox WHERE thing = ? AND id = ?'),
    enqueueJob: db.prepare('INSERT INTO job_update (thing, body) VALUES (?, ?)'),
    pendingJobs: db.prepare('SELECT id, body FROM job_update WHERE thing = ? ORDER BY id'),
    deleteJob: db.prepare('DELETE FROM job_update WHERE thing = ? AND id = ?'),
    getMeta: db.prepare('SELECT value FROM device_meta WHERE thing = ? AND key = ?'),
    setMeta: db.prepare(
      'INSERT INTO device_meta (thing, key, value) VALUES (?, ?, ?) ON CONFLICT (thing, key) DO UPDATE SET value = excluded.value',
    ),
  };

  const forThing = (thing: string): AgentJournal => new ThingJournal(thing, reset, q, run);

  return {
    path,
    reset,
    forThing,
    close: () => {
      group?.flush();
      db.close();
    },
  };
}

type Statement = Database.Statement;
type Queries = Readonly<
  Record<
    | 'loadUpdate'
    | 'saveUpdate'
    | 'clearUpdate'
    | 'loadOffset'
    | 'saveOffset'
    | 'clearOffset'
    | 'enqueue'
    | 'pending'
    | 'deleteMessage'
    | 'enqueueJob'
    | 'pendingJobs'
    | 'deleteJob'
    | 'getMeta'
    | 'setMeta',
    Statement
  >
>;

/** One thing's rows. A class, not a literal of closures: the simulator holds one per virtual device. */
class ThingJournal implements AgentJournal {
  readonly thingName: string;
  readonly reset: JournalReset | undefined;
  readonly #q: Queries;
  readonly #run: JournalCall;

  constructor(thing: string, reset: JournalReset | undefined, q: Queries, run: JournalCall) {
    this.thingName = thing;
    this.reset = reset;
    this.#q = q;
    this.#run = run;
  }

  loadUpdate(): Promise<LoadedUpdate> {
    return this.#run((): LoadedUpdate => {
      const row = this.#q.loadUpdate.get(this.thingName) as
        { job_id: string; schema_version: number; body: string } | undefined;
      if (row === undefined) return { kind: 'none' };
      const decoded = decodeUpdateRecord(row.schema_version, row.body);
      if (decoded.ok) return { kind: 'ok', record: decoded.value };
      return {
        kind: 'corrupt',
        jobId: typeof row.job_id === 'string' ? row.job_id : undefined,
        detail: decoded.error,
      };
    });
  }

  saveUpdate(record: UpdateRecord): Promise<void> {
    return this.#run(() => {
      this.#q.saveUpdate.run(this.thingName, record.jobId, UPDATE_RECORD_SCHEMA_VERSION, encodeUpdateRecord(record));
    });
  }

  clearUpdate(): Promise<void> {
    return this.#run(() => void this.#q.clearUpdate.run(this.thingName));
  }

  loadDownloadOffset(jobId: string): Promise<number | undefined> {
    return this.#run(() => (this.#q.loadOffset.get(this.thingName, jobId) as { offset: number } | undefined)?.offset);
  }

  saveDownloadOffset(jobId: string, offset: number): Promise<void> {
    return this.#run(() => void this.#q.saveOffset.run(this.thingName, jobId, offset));
  }

  clearDownloadOffset(jobId: string): Promise<void> {
    return this.#run(() => void this.#q.clearOffset.run(this.thingName, jobId));
  }

  enqueueMessage(topic: string, payload: string): Promise<number> {
    return this.#run(() => Number(this.#q.enqueue.run(this.thingName, topic, payload).lastInsertRowid));
  }

  pendingMessages(limit: number): Promise<readonly StoredMessage[]> {
    return this.#run(() => this.#q.pending.all(this.thingName, limit) as StoredMessage[]);
  }

  deleteMessage(id: number): Promise<void> {
    return this.#run(() => void this.#q.deleteMessage.run(this.thingName, id));
  }

  enqueueJobUpdate(update: QueuedJobUpdate): Promise<number> {
    return this.#run(() => Number(this.#q.enqueueJob.run(this.thingName, JSON.stringify(update)).lastInsertRowid));
  }

  pendingJobUpdates(): Promise<readonly StoredJobUpdate[]> {
    return this.#run(() => {
      const rows = this.#q.pendingJobs.all(this.thingName) as { id: number; body: string }[];
      const out: StoredJobUpdate[] = [];
      for (const row of rows) {
        try {
          out.push({ ...(JSON.parse(row.body) as QueuedJobUpdate), id: row.id });
        } catch {
          // An undecodable queued update cannot be sent: drop it rather than block the queue behind it.
          this.#q.deleteJob.run(this.thingName, row.id);
        }
      }
      return out;
    });
  }

  deleteJobUpdate(id: number): Promise<void> {
    return this.#run(() => void this.#q.deleteJob.run(this.thingName, id));
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.#run(() => (this.#q.getMeta.get(this.thingName, key) as { value: string } | undefined)?.value);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#run(() => void this.#q.setMeta.run(this.thingName, key, value));
  }
}

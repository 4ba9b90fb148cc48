import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseOtaJobDocument } from '@otafleet/protocol';
import { openSqliteJournal, type UpdateRecord } from '@otafleet/agent';

const doc = parseOtaJobDocument({
  operation: 'ota.rollback',
  schemaVersion: 2,
  component: 'application',
  target: { kind: 'previous-slot' },
  reason: 'INC-1',
  healthChecks: { deadlineSeconds: 30, requiredPasses: 1, intervalSeconds: 1, checks: [{ kind: 'process' }] },
  rollback: { mode: 'automatic', maxBootAttempts: 2 },
});
if (!doc.ok) throw new Error(doc.error.message);
const record: UpdateRecord = {
  jobId: 'job-7',
  executionNumber: 2,
  state: 'HealthChecking',
  saves: 5,
  starts: 1,
  document: doc.value,
  attempt: 1,
  acceptedAt: 1000,
  fromSlot: 'B',
  targetSlot: 'A',
  deadlineAt: 99_000,
  switchedAt: 69_000,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the SQLite journal', () => {
  it('keeps the update record, offsets, outbox and queued job updates across a reopen, per thing', async () => {
    const path = join(dir, 'journal.db');
    let db = openSqliteJournal(path);
    const a = db.forThing('pi-a');
    const b = db.forThing('pi-b');
    await a.saveUpdate(record);
    await a.saveDownloadOffset('job-7', 4096);
    await a.enqueueMessage('dt/pi-a/health', '{"n":1}');
    await a.enqueueMessage('dt/pi-a/health', '{"n":2}');
    await b.enqueueMessage('dt/pi-b/health', '{"n":9}');
    await a.enqueueJobUpdate({
      jobId: 'job-7',
      executionNumber: 2,
      status: 'IN_PROGRESS',
      statusDetails: { phase: 'health-checking' },
    });
    await a.setMeta('rollbackCount', '3');
    db.close();

    db = openSqliteJournal(path);
    const a2 = db.forThing('pi-a');
    expect(db.reset).toBeUndefined();
    expect(await a2.loadUpdate()).toEqual({ kind: 'ok', record });
    expect(await db.forThing('pi-b').loadUpdate()).toEqual({ kind: 'none' });
    expect(await a2.loadDownloadOffset('job-7')).toBe(4096);
    const msgs = await a2.pendingMessages(10);
    expect(msgs.map((m) => m.payload)).toEqual(['{"n":1}', '{"n":2}']);
    await a2.deleteMessage(msgs[0]!.id);
    expect((await a2.pendingMessages(10)).map((m) => m.payload)).toEqual(['{"n":2}']);
    expect((await db.forThing('pi-b').pendingMessages(10)).map((m) => m.payload)).toEqual(['{"n":9}']);
    expect((await a2.pendingJobUpdates()).map((u) => u.statusDetails)).toEqual([{ phase: 'health-checking' }]);
    expect(await a2.getMeta('rollbackCount')).toBe('3');
    await a2.clearUpdate();
    await a2.clearDownloadOffset('job-7');
    expect(await a2.loadUpdate()).toEqual({ kind: 'none' });
    expect(await a2.loadDownloadOffset('job-7')).toBeUndefined();
    db.close();
  });

  it('is a WAL-mode file (journal_mode persists in the file; synchronous=FULL is set on every open)', () => {
    const path = join(dir, 'journal.db');
    openSqliteJournal(path).close();
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('a row of another schema version, or one that does not decode, reads as corrupt with its job id, never as a record', async () => {
    const path = join(dir, 'journal.db');
    const db = openSqliteJournal(path);
    await db.forThing('pi-a').saveUpdate(record);
    db.close();
    const raw = new Database(path);
    raw.prepare('UPDATE update_state SET schema_version = 99').run();
    raw.close();
    let reopened = openSqliteJournal(path);
    const loaded = await reopened.forThing('pi-a').loadUpdate();
    expect(loaded.kind).toBe('corrupt');
    expect(loaded.kind === 'corrupt' && loaded.jobId).toBe('job-7');
    expect(loaded.kind === 'corrupt' && loaded.detail).toMatch(/schema version 99/);
    reopened.close();

    const raw2 = new Database(path);
    raw2.prepare('UPDATE update_state SET schema_version = 1, body = \'{"jobId":"job-7","state":777}\'').run();
    raw2.close();
    reopened = openSqliteJournal(path);
    const bad = await reopened.forThing('pi-a').loadUpdate();
    expect(bad.kind).toBe('corrupt');
    reopened.close();

    const raw3 = new Database(path);
    const body = JSON.stringify({ ...JSON.parse(JSON.stringify(record)), state: 42 });
    raw3.prepare('UPDATE update_state SET body = ?').run(body);
    raw3.close();
    reopened = openSqliteJournal(path);
    const unknownState = await reopened.forThing('pi-a').loadUpdate();
    expect(unknownState.kind === 'corrupt' && unknownState.detail).toMatch(/unknown state number 42/);
    reopened.close();
  });

  it('an unreadable file is put aside and a fresh journal started', async () => {
    const path = join(dir, 'journal.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const db = openSqliteJournal(path, { now: () => 1234 });
    expect(db.reset?.keptAt).toBe(`${path}.corrupt-1234`);
    expect(db.reset?.detail).toMatch(/SQLite/);
    expect(existsSync(`${path}.corrupt-1234`)).toBe(true);
    expect(await db.forThing('pi-a').loadUpdate()).toEqual({ kind: 'none' });
    await db.forThing('pi-a').saveUpdate(record);
    db.close();
    expect(readdirSync(dir).sort()).toContain('journal.db');
  });

  it('a file of a newer layout version is put aside too', () => {
    const path = join(dir, 'journal.db');
    const raw = new Database(path);
    raw.pragma('user_version = 7');
    raw.close();
    const db = openSqliteJournal(path, { now: () => 5 });
    expect(db.reset?.detail).toMatch(/journal file version 7/);
    db.close();
  });
});

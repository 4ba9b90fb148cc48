import Database from 'better-sqlite3';
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, openDatabase, type ArnContext, type Db } from '../src/index.js';
import { createThingRegistry, type ThingRegistry } from '../src/registry/index.js';
import { createRegistryCommit } from '../src/registry/registry-commit.js';

const arn: ArnContext = { region: 'eu-central-1', accountId: '000011112222' };
let dir: string;
let path: string;
let db: Db;
let registry: ThingRegistry;
let batches: number[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-commit-'));
  path = join(dir, 'core.db');
  db = openDatabase(path);
  batches = [];
  registry = createThingRegistry(db, arn, { onWriteBatch: (writes) => batches.push(writes) });
});
afterEach(async () => {
  await registry.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const thingsOnDisk = (): string[] => {
  const reader = new Database(path, { readonly: true });
  try {
    return (
      reader.prepare('SELECT thing_name FROM registry_things ORDER BY thing_name').all() as { thing_name: string }[]
    ).map((r) => r.thing_name);
  } finally {
    reader.close();
  }
};

describe('registry group commit', () => {
  it('commits the writes of one event-loop turn as one batch, each answered once it is visible on disk', async () => {
    const names = Array.from({ length: 40 }, (_v, i) => `batch-${String(i).padStart(2, '0')}`);
    const answered = await Promise.all(
      names.map((thingName) =>
        registry.createThing({ thingName }).then((r) => ({ name: r.thingName, seen: thingsOnDisk() })),
      ),
    );
    expect(batches).toEqual([40]);
    for (const a of answered) expect(a.seen).toContain(a.name);
    expect(thingsOnDisk()).toEqual(names);
  });

  it('undoes only a refused write of a batch: the others commit, the refused one changes nothing', async () => {
    await registry.createThingGroup({ thingGroupName: 'fleet' });
    batches = [];
    const results = await Promise.allSettled([
      registry.createThing({ thingName: 'ok-1' }),
      registry.addThingToThingGroup({ thingName: 'missing', thingGroupName: 'fleet' }),
      registry.createThing({ thingName: 'bad name!' }),
      registry.createThing({ thingName: 'ok-2' }),
      registry.addThingToThingGroup({ thingName: 'ok-2', thingGroupName: 'fleet' }),
    ]);
    expect(batches).toEqual([5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refusals.every((e) => e instanceof AwsServiceError)).toBe(true);
    expect(refusals.map((e) => (e as AwsServiceError).name)).toEqual([
      'ResourceNotFoundException',
      'InvalidRequestException',
    ]);
    expect(thingsOnDisk()).toEqual(['ok-1', 'ok-2']);
    expect(registry.listThingsInGroup('fleet')).toEqual(['ok-2']);
  });

  it('rolls back a write that throws after changing rows to its own savepoint, keeping its batch neighbours', async () => {
    db.exec('CREATE TABLE scratch (k TEXT PRIMARY KEY)');
    const observed: number[] = [];
    const commit = createRegistryCommit(db, 'shared-sync', (writes) => observed.push(writes));
    const insert = db.prepare<[string]>('INSERT INTO scratch (k) VALUES (?)');
    const results = await Promise.allSettled([
      commit.write(() => insert.run('a').changes),
      commit.write(() => {
        insert.run('b');
        throw new Error('refused after writing');
      }),
      commit.write(() => insert.run('c').changes),
    ]);
    await commit.close();
    expect(observed).toEqual([3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT k FROM scratch ORDER BY k').pluck().all()).toEqual(['a', 'c']);
    expect(db.inTransaction).toBe(false);
  });

  it('gathers the writes that arrive while a WAL sync runs into the next batch, committed once that sync ends', async () => {
    // Keep libuv's thread pool (where the WAL sync runs) busy, so the first batch's sync is still running while
    // the next writes arrive, each in an event-loop turn of its own.
    const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
    const busy = Array.from(
      { length: poolSize },
      () => new Promise((resolve) => pbkdf2('x', 'salt', 300_000, 32, 'sha256', resolve)),
    );
    const first = registry.createThing({ thingName: 'first' });
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      later.push(registry.createThing({ thingName: `later-${i}` }));
    }
    await Promise.all([first, ...later, ...busy]);
    expect(batches).toEqual([1, 5]);
    expect(thingsOnDisk()).toEqual(['first', 'later-0', 'later-1', 'later-2', 'later-3', 'later-4']);
  });

  it('lets a later write of the same batch see an earlier one, in call order', async () => {
    const first = registry.createThing({ thingName: 'dup' });
    const second = registry.createThing({ thingName: 'dup', attributePayload: { attributes: { other: 'x' } } });
    await expect(first).resolves.toMatchObject({ thingName: 'dup' });
    await expect(second).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    expect(batches).toEqual([2]);
  });

  it('flushes a queued batch on close, so nothing accepted is dropped', async () => {
    const pending = registry.createThing({ thingName: 'late' });
    await registry.close();
    await expect(pending).resolves.toMatchObject({ thingName: 'late' });
    expect(thingsOnDisk()).toEqual(['late']);
    registry = createThingRegistry(db, arn);
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteRolloutStore, type RolloutStore } from '@otafleet/fleet-service';
import { rolloutStoreContract } from './rollout-store-contract.js';

const paths = new WeakMap<RolloutStore, string>();
const fresh = (): string => join(mkdtempSync(join(tmpdir(), 'rollout-store-')), 'fleet.db');

rolloutStoreContract(
  'SQLite file',
  () => {
    const path = fresh();
    const store = openSqliteRolloutStore(path);
    paths.set(store, path);
    return Promise.resolve(store);
  },
  (closed) => Promise.resolve(openSqliteRolloutStore(paths.get(closed) ?? '')),
);

describe('SQLite rollout store file', () => {
  it('refuses a file of another layout version, saying which', () => {
    const path = fresh();
    const db = new Database(path);
    db.pragma('user_version = 9');
    db.close();
    expect(() => openSqliteRolloutStore(path)).toThrow(/file version 9; this fleet service reads version 1/);
  });

  it('loses no acknowledged change when the process is killed with SIGKILL mid-burst', async () => {
    const path = fresh();
    const writer = new URL('./fixtures/rollout-store-writer.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', writer, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const acked: string[] = [];
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`the writer exited before it was killed: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        acked.push(line.replace('acked ', ''));
        if (acked.length === 200) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    const store = openSqliteRolloutStore(path);
    const stored = new Set((await store.listRollouts()).map((r) => r.id));
    for (const id of acked) expect(stored.has(id)).toBe(true);
    for (const id of stored) {
      // A change and its audit entry and devices share one transaction: never one without the others.
      expect((await store.auditLog(id)).length).toBe(1);
      expect((await store.devices(id)).length).toBe(2);
    }
    await store.close();
  }, 60_000);
});

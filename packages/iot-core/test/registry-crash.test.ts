import { CreateThingGroupCommand } from '@aws-sdk/client-iot';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRegistryProcess, type RegistryProcess } from '../bench/lib/registry-process.js';
import { registerInBulk } from '../bench/lib/registry-load.js';

const dirs: string[] = [];
const servers: RegistryProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('thing registry under SIGKILL', () => {
  it('keeps every thing and membership it acknowledged when killed in the middle of a registration burst', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
    dirs.push(dir);
    const dbPath = join(dir, 'core.db');
    const server = await startRegistryProcess(dbPath, 'shared-sync');
    servers.push(server);
    const client = server.client(32);
    const groups = ['crash-a', 'crash-b', 'crash-c'];
    for (const thingGroupName of groups) await client.send(new CreateThingGroupCommand({ thingGroupName }));

    const acknowledged = new Map<string, string>();
    let killed = false;
    const burst = registerInBulk(client, {
      count: 100_000,
      inFlight: 32,
      groups,
      onRegistered: (thingName, groupName) => {
        acknowledged.set(thingName, groupName);
        if (!killed && acknowledged.size >= 400) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      },
    });
    await expect(burst).rejects.toThrow();
    await server.exited;
    client.destroy();
    expect(server.child.signalCode).toBe('SIGKILL');
    expect(acknowledged.size).toBeGreaterThanOrEqual(400);

    // Read the file as it was left, the way the next start would.
    const db = new Database(dbPath);
    try {
      const things = new Set(
        (db.prepare('SELECT thing_name FROM registry_things').all() as { thing_name: string }[]).map(
          (r) => r.thing_name,
        ),
      );
      const members = new Set(
        (
          db.prepare('SELECT group_name, thing_name FROM registry_group_members').all() as {
            group_name: string;
            thing_name: string;
          }[]
        ).map((r) => `${r.group_name}/${r.thing_name}`),
      );
      const lost = [...acknowledged].filter(
        ([thing, group]) => !things.has(thing) || !members.has(`${group}/${thing}`),
      );
      expect(lost).toEqual([]);
      // Things the burst was still creating may be there too, never more than were asked for.
      expect(things.size).toBeGreaterThanOrEqual(acknowledged.size);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  }, 120_000);
});

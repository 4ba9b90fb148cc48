import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, openDatabase, type ArnContext, type Db, type MembershipChange } from '../src/index.js';
import { createThingRegistry, type ThingRegistry } from '../src/registry/index.js';

const arn: ArnContext = { region: 'eu-central-1', accountId: '000011112222' };
let dir: string;
let path: string;
let db: Db;
let registry: ThingRegistry;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
  path = join(dir, 'core.db');
  db = openDatabase(path);
  registry = createThingRegistry(db, arn);
});
afterEach(async () => {
  await registry.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const thrown = async (f: () => Promise<unknown>): Promise<AwsServiceError> => {
  try {
    await f();
  } catch (e) {
    if (e instanceof AwsServiceError) return e;
    throw e;
  }
  throw new Error('expected an AwsServiceError');
};

describe('thing registry (SQLite)', () => {
  it('survives a restart: things, groups and membership are read back from the file', async () => {
    const created = await registry.createThing({ thingName: 'dev-1', attributePayload: { attributes: { hw: 'pi4' } } });
    await registry.createThingGroup({ thingGroupName: 'fleet' });
    await registry.addThingToThingGroup({ thingName: 'dev-1', thingGroupName: 'fleet' });
    await registry.close();
    db.close();

    db = openDatabase(path);
    registry = createThingRegistry(db, arn);
    expect(registry.getThing('dev-1')).toEqual({
      thingName: 'dev-1',
      thingArn: 'arn:aws:iot:eu-central-1:000011112222:thing/dev-1',
      thingId: created.thingId,
      attributes: { hw: 'pi4' },
      version: 1,
    });
    expect(registry.getThingGroup('fleet')?.thingGroupArn).toBe(
      'arn:aws:iot:eu-central-1:000011112222:thinggroup/fleet',
    );
    expect(registry.listThingsInGroup('fleet')).toEqual(['dev-1']);
  });

  it('calls membership listeners only after the change is committed (visible to another connection)', async () => {
    const other = new Database(path, { readonly: true });
    const seen: { change: MembershipChange; committed: number }[] = [];
    registry.onMembershipChange((change) => {
      const row = other
        .prepare('SELECT count(*) AS n FROM registry_group_members WHERE group_name = ? AND thing_name = ?')
        .get(change.thingGroupName, change.thingName) as { n: number };
      seen.push({ change, committed: row.n });
    });
    await registry.createThing({ thingName: 'a' });
    await registry.createThingGroup({ thingGroupName: 'g' });
    await registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g' });
    await registry.deleteThingGroup({ thingGroupName: 'g' });
    other.close();
    expect(seen).toEqual([
      { change: { kind: 'added', thingName: 'a', thingGroupName: 'g' }, committed: 1 },
      { change: { kind: 'removed', thingName: 'a', thingGroupName: 'g' }, committed: 0 },
    ]);
  });

  it('keeps going when a listener throws, and stops calling an unsubscribed one', async () => {
    const calls: string[] = [];
    registry.onMembershipChange(() => {
      throw new Error('listener bug');
    });
    const off = registry.onMembershipChange((c) => calls.push(`${c.kind}:${c.thingName}`));
    await registry.createThing({ thingName: 'a' });
    await registry.createThingGroup({ thingGroupName: 'g' });
    await registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g' });
    off();
    await registry.removeThingFromThingGroup({ thingName: 'a', thingGroupName: 'g' });
    expect(calls).toEqual(['added:a']);
    expect(registry.listThingsInGroup('g')).toEqual([]);
  });

  it('limits a thing to 10 thing groups', async () => {
    await registry.createThing({ thingName: 'a' });
    for (let i = 0; i < 11; i++) await registry.createThingGroup({ thingGroupName: `g${i}` });
    for (let i = 0; i < 10; i++) await registry.addThingToThingGroup({ thingName: 'a', thingGroupName: `g${i}` });
    const e = await thrown(() => registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g10' }));
    expect(e.name).toBe('InvalidRequestException');
    expect(registry.listThingsInGroup('g10')).toEqual([]);
  });

  it('refuses a second group in the same hierarchy, as AWS does', async () => {
    await registry.createThing({ thingName: 'a' });
    await registry.createThingGroup({ thingGroupName: 'fleet' });
    await registry.createThingGroup({ thingGroupName: 'wave-1', parentGroupName: 'fleet' });
    await registry.createThingGroup({ thingGroupName: 'wave-2', parentGroupName: 'fleet' });
    await registry.createThingGroup({ thingGroupName: 'lab' });
    await registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'wave-1' });
    for (const other of ['wave-2', 'fleet']) {
      const e = await thrown(() => registry.addThingToThingGroup({ thingName: 'a', thingGroupName: other }));
      expect(e.name).toBe('InvalidRequestException');
      expect(e.message).toContain('same hierarchy');
      expect(registry.listThingsInGroup(other)).toEqual([]);
    }
    await registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'lab' });
    expect(registry.listThingsInGroup('lab')).toEqual(['a']);
  });

  it('resolves membership by ARN and rejects ARNs of another account or a name/ARN mismatch', async () => {
    await registry.createThing({ thingName: 'a' });
    await registry.createThingGroup({ thingGroupName: 'g' });
    const foreign = await thrown(() =>
      registry.addThingToThingGroup({ thingArn: 'arn:aws:iot:eu-central-1:999999999999:thing/a', thingGroupName: 'g' }),
    );
    expect(foreign.name).toBe('InvalidRequestException');
    const mismatch = await thrown(() =>
      registry.addThingToThingGroup({
        thingName: 'b',
        thingArn: 'arn:aws:iot:eu-central-1:000011112222:thing/a',
        thingGroupName: 'g',
      }),
    );
    expect(mismatch.name).toBe('InvalidRequestException');
    await registry.addThingToThingGroup({
      thingArn: 'arn:aws:iot:eu-central-1:000011112222:thing/a',
      thingGroupArn: 'arn:aws:iot:eu-central-1:000011112222:thinggroup/g',
    });
    expect(registry.listThingsInGroup('g')).toEqual(['a']);
  });

  it('rejects thing types and billing groups, which the local core does not have', async () => {
    expect((await thrown(() => registry.createThing({ thingName: 'a', thingTypeName: 'Sensor' }))).name).toBe(
      'ResourceNotFoundException',
    );
    expect((await thrown(() => registry.createThing({ thingName: 'a', billingGroupName: 'b' }))).name).toBe(
      'ResourceNotFoundException',
    );
    expect(registry.getThing('a')).toBeUndefined();
    expect((await registry.listThings({ thingTypeName: 'Sensor' })).things).toEqual([]);
  });

  it('validates names and attributes on direct calls too', async () => {
    expect((await thrown(() => registry.createThing({ thingName: 'has space' }))).name).toBe('InvalidRequestException');
    expect((await thrown(() => registry.createThing({ thingName: 'x'.repeat(129) }))).name).toBe(
      'InvalidRequestException',
    );
    expect((await thrown(() => registry.createThing({ thingName: undefined }))).message).toBe('thingName is required');
    expect(
      (
        await thrown(() =>
          registry.createThing({ thingName: 'a', attributePayload: { attributes: { 'bad key!': 'v' } } }),
        )
      ).message,
    ).toContain('bad key!');
    expect((await thrown(() => registry.listThings({ attributeValue: 'x' }))).message).toContain('attributeName');
    expect((await registry.listThings({})).things).toEqual([]);
  });

  it('filters ListThings on attribute presence and keeps pages stable across inserts', async () => {
    await registry.createThing({ thingName: 'a', attributePayload: { attributes: { ring: 'canary' } } });
    await registry.createThing({ thingName: 'c' });
    await registry.createThing({ thingName: 'e', attributePayload: { attributes: { ring: 'main' } } });
    expect((await registry.listThings({ attributeName: 'ring' })).things?.map((t) => t.thingName)).toEqual(['a', 'e']);

    const first = await registry.listThings({ maxResults: 2 });
    expect(first.things?.map((t) => t.thingName)).toEqual(['a', 'c']);
    await registry.createThing({ thingName: 'b' }); // sorts before the cursor: must not shift the next page
    const second = await registry.listThings({ maxResults: 2, nextToken: first.nextToken });
    expect(second.things?.map((t) => t.thingName)).toEqual(['e']);
    expect(second.nextToken).toBeUndefined();
  });

  it('describes a group hierarchy root first', async () => {
    await registry.createThingGroup({ thingGroupName: 'root' });
    await registry.createThingGroup({ thingGroupName: 'mid', parentGroupName: 'root' });
    await registry.createThingGroup({ thingGroupName: 'leaf', parentGroupName: 'mid' });
    const leaf = await registry.describeThingGroup({ thingGroupName: 'leaf' });
    expect(leaf.thingGroupMetadata?.rootToParentThingGroups?.map((g) => g.groupName)).toEqual(['root', 'mid']);
    expect(
      (await thrown(() => registry.createThingGroup({ thingGroupName: 'orphan', parentGroupName: 'none' }))).name,
    ).toBe('InvalidRequestException');
    expect(registry.getThingGroup('orphan')).toBeUndefined();
  });
});

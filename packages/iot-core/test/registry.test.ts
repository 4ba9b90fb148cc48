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
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const thrown = (f: () => unknown): AwsServiceError => {
  try {
    f();
  } catch (e) {
    if (e instanceof AwsServiceError) return e;
    throw e;
  }
  throw new Error('expected an AwsServiceError');
};

describe('thing registry (SQLite)', () => {
  it('survives a restart: things, groups and membership are read back from the file', () => {
    const created = registry.createThing({ thingName: 'dev-1', attributePayload: { attributes: { hw: 'pi4' } } });
    registry.createThingGroup({ thingGroupName: 'fleet' });
    registry.addThingToThingGroup({ thingName: 'dev-1', thingGroupName: 'fleet' });
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

  it('calls membership listeners only after the change is committed (visible to another connection)', () => {
    const other = new Database(path, { readonly: true });
    const seen: { change: MembershipChange; committed: number }[] = [];
    registry.onMembershipChange((change) => {
      const row = other
        .prepare('SELECT count(*) AS n FROM registry_group_members WHERE group_name = ? AND thing_name = ?')
        .get(change.thingGroupName, change.thingName) as { n: number };
      seen.push({ change, committed: row.n });
    });
    registry.createThing({ thingName: 'a' });
    registry.createThingGroup({ thingGroupName: 'g' });
    registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g' });
    registry.deleteThingGroup({ thingGroupName: 'g' });
    other.close();
    expect(seen).toEqual([
      { change: { kind: 'added', thingName: 'a', thingGroupName: 'g' }, committed: 1 },
      { change: { kind: 'removed', thingName: 'a', thingGroupName: 'g' }, committed: 0 },
    ]);
  });

  it('keeps going when a listener throws, and stops calling an unsubscribed one', () => {
    const calls: string[] = [];
    registry.onMembershipChange(() => {
      throw new Error('listener bug');
    });
    const off = registry.onMembershipChange((c) => calls.push(`${c.kind}:${c.thingName}`));
    registry.createThing({ thingName: 'a' });
    registry.createThingGroup({ thingGroupName: 'g' });
    registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g' });
    off();
    registry.removeThingFromThingGroup({ thingName: 'a', thingGroupName: 'g' });
    expect(calls).toEqual(['added:a']);
    expect(registry.listThingsInGroup('g')).toEqual([]);
  });

  it('limits a thing to 10 thing groups', () => {
    registry.createThing({ thingName: 'a' });
    for (let i = 0; i < 11; i++) registry.createThingGroup({ thingGroupName: `g${i}` });
    for (let i = 0; i < 10; i++) registry.addThingToThingGroup({ thingName: 'a', thingGroupName: `g${i}` });
    const e = thrown(() => registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'g10' }));
    expect(e.name).toBe('InvalidRequestException');
    expect(registry.listThingsInGroup('g10')).toEqual([]);
  });

  it('refuses a second group in the same hierarchy, as AWS does', () => {
    registry.createThing({ thingName: 'a' });
    registry.createThingGroup({ thingGroupName: 'fleet' });
    registry.createThingGroup({ thingGroupName: 'wave-1', parentGroupName: 'fleet' });
    registry.createThingGroup({ thingGroupName: 'wave-2', parentGroupName: 'fleet' });
    registry.createThingGroup({ thingGroupName: 'lab' });
    registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'wave-1' });
    for (const other of ['wave-2', 'fleet']) {
      const e = thrown(() => registry.addThingToThingGroup({ thingName: 'a', thingGroupName: other }));
      expect(e.name).toBe('InvalidRequestException');
      expect(e.message).toContain('same hierarchy');
      expect(registry.listThingsInGroup(other)).toEqual([]);
    }
    registry.addThingToThingGroup({ thingName: 'a', thingGroupName: 'lab' });
    expect(registry.listThingsInGroup('lab')).toEqual(['a']);
  });

  it('resolves membership by ARN and rejects ARNs of another account or a name/ARN mismatch', () => {
    registry.createThing({ thingName: 'a' });
    registry.createThingGroup({ thingGroupName: 'g' });
    const foreign = thrown(() =>
      registry.addThingToThingGroup({ thingArn: 'arn:aws:iot:eu-central-1:999999999999:thing/a', thingGroupName: 'g' }),
    );
    expect(foreign.name).toBe('InvalidRequestException');
    const mismatch = thrown(() =>
      registry.addThingToThingGroup({
        thingName: 'b',
        thingArn: 'arn:aws:iot:eu-central-1:000011112222:thing/a',
        thingGroupName: 'g',
      }),
    );
    expect(mismatch.name).toBe('InvalidRequestException');
    registry.addThingToThingGroup({
      thingArn: 'arn:aws:iot:eu-central-1:000011112222:thing/a',
      thingGroupArn: 'arn:aws:iot:eu-central-1:000011112222:thinggroup/g',
    });
    expect(registry.listThingsInGroup('g')).toEqual(['a']);
  });

  it('rejects thing types and billing groups, which the local core does not have', () => {
    expect(thrown(() => registry.createThing({ thingName: 'a', thingTypeName: 'Sensor' })).name).toBe(
      'ResourceNotFoundException',
    );
    expect(thrown(() => registry.createThing({ thingName: 'a', billingGroupName: 'b' })).name).toBe(
      'ResourceNotFoundException',
    );
    expect(registry.getThing('a')).toBeUndefined();
    expect(registry.listThings({ thingTypeName: 'Sensor' }).things).toEqual([]);
  });

  it('validates names and attributes on direct calls too', () => {
    expect(thrown(() => registry.createThing({ thingName: 'has space' })).name).toBe('InvalidRequestException');
    expect(thrown(() => registry.createThing({ thingName: 'x'.repeat(129) })).name).toBe('InvalidRequestException');
    expect(thrown(() => registry.createThing({ thingName: undefined })).message).toBe('thingName is required');
    expect(
      thrown(() => registry.createThing({ thingName: 'a', attributePayload: { attributes: { 'bad key!': 'v' } } }))
        .message,
    ).toContain('bad key!');
    expect(thrown(() => registry.listThings({ attributeValue: 'x' })).message).toContain('attributeName');
    expect(registry.listThings({}).things).toEqual([]);
  });

  it('filters ListThings on attribute presence and keeps pages stable across inserts', () => {
    registry.createThing({ thingName: 'a', attributePayload: { attributes: { ring: 'canary' } } });
    registry.createThing({ thingName: 'c' });
    registry.createThing({ thingName: 'e', attributePayload: { attributes: { ring: 'main' } } });
    expect(registry.listThings({ attributeName: 'ring' }).things?.map((t) => t.thingName)).toEqual(['a', 'e']);

    const first = registry.listThings({ maxResults: 2 });
    expect(first.things?.map((t) => t.thingName)).toEqual(['a', 'c']);
    registry.createThing({ thingName: 'b' }); // sorts before the cursor: must not shift the next page
    const second = registry.listThings({ maxResults: 2, nextToken: first.nextToken });
    expect(second.things?.map((t) => t.thingName)).toEqual(['e']);
    expect(second.nextToken).toBeUndefined();
  });

  it('describes a group hierarchy root first', () => {
    registry.createThingGroup({ thingGroupName: 'root' });
    registry.createThingGroup({ thingGroupName: 'mid', parentGroupName: 'root' });
    registry.createThingGroup({ thingGroupName: 'leaf', parentGroupName: 'mid' });
    const leaf = registry.describeThingGroup({ thingGroupName: 'leaf' });
    expect(leaf.thingGroupMetadata?.rootToParentThingGroups?.map((g) => g.groupName)).toEqual(['root', 'mid']);
    expect(thrown(() => registry.createThingGroup({ thingGroupName: 'orphan', parentGroupName: 'none' })).name).toBe(
      'InvalidRequestException',
    );
    expect(registry.getThingGroup('orphan')).toBeUndefined();
  });
});

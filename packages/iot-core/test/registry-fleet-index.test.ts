import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type ArnContext, type Db, type MembershipChange } from '../src/index.js';
import { createThingRegistry, type ThingRegistry } from '../src/registry/index.js';
import type { IndexedConnectivity, IndexedShadow } from '../src/registry/search/index.js';

const arn: ArnContext = { region: 'eu-central-1', accountId: '000011112222' };
let dir: string;
let path: string;
let db: Db;
let registry: ThingRegistry;
const connectivity = new Map<string, IndexedConnectivity>();
const shadows = new Map<string, IndexedShadow>();

const open = (): void => {
  db = openDatabase(path);
  registry = createThingRegistry(db, arn);
  registry.connectFleetIndex({ shadow: (t) => shadows.get(t), connectivity: (t) => connectivity.get(t) });
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-index-'));
  path = join(dir, 'core.db');
  connectivity.clear();
  shadows.clear();
  open();
});
afterEach(async () => {
  await registry.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = async (queryString: string): Promise<string[]> =>
  ((await registry.searchIndex({ queryString })).things ?? []).map((t) => t.thingName ?? '');

describe('fleet index over the registry with injected shadow and connectivity sources', () => {
  it('answers connectivity and shadow queries from the sources it was given', async () => {
    await registry.createThing({ thingName: 'a' });
    await registry.createThing({ thingName: 'b' });
    connectivity.set('a', { connected: true, timestamp: 1_700_000_000_000 });
    connectivity.set('b', { connected: false, timestamp: 1_700_000_500_000 });
    shadows.set('b', { reported: { firmware: { version: '2.0.0' } } });
    expect(await names('connectivity.connected:true')).toEqual(['a']);
    expect(await names('connectivity.timestamp>1700000100000')).toEqual(['b']);
    expect(await names('shadow.reported.firmware.version:2.*')).toEqual(['b']);
    expect(await names('NOT shadow.reported.firmware.version:*')).toEqual(['a']);
    const [doc] = (await registry.searchIndex({ queryString: 'thingName:a' })).things ?? [];
    expect(doc?.connectivity).toEqual({ connected: true, timestamp: 1_700_000_000_000 });
  });

  it('moves a thing in and out of a dynamic group when told its indexed data changed', async () => {
    const changes: MembershipChange[] = [];
    registry.onMembershipChange((c) => changes.push(c));
    await registry.createThing({ thingName: 'a' });
    await registry.createDynamicThingGroup({ thingGroupName: 'online', queryString: 'connectivity.connected:true' });
    connectivity.set('a', { connected: true });
    registry.indexedDataChanged(['a'], ['connectivity']);
    await registry.listThingsInThingGroup({ thingGroupName: 'online' }); // a read waits for the write before it
    await new Promise((r) => setImmediate(r));
    expect(registry.listThingsInGroup('online')).toEqual(['a']);
    connectivity.set('a', { connected: false });
    registry.indexedDataChanged(['a'], ['attributes.x']); // a path the query does not read: no change
    await new Promise((r) => setImmediate(r));
    expect(registry.listThingsInGroup('online')).toEqual(['a']);
    registry.indexedDataChanged(['a'], ['connectivity']);
    await registry.listThingsInThingGroup({ thingGroupName: 'online' });
    await new Promise((r) => setImmediate(r));
    expect(registry.listThingsInGroup('online')).toEqual([]);
    expect(changes).toEqual([
      { kind: 'added', thingName: 'a', thingGroupName: 'online' },
      { kind: 'removed', thingName: 'a', thingGroupName: 'online' },
    ]);
  });

  it('keeps dynamic groups across a restart and goes on evaluating new things', async () => {
    await registry.createThing({ thingName: 'a', attributePayload: { attributes: { hw: 'rpi4' } } });
    await registry.createDynamicThingGroup({ thingGroupName: 'pi4', queryString: 'attributes.hw:rpi4' });
    await registry.close();
    db.close();
    open();
    expect(registry.listThingsInGroup('pi4')).toEqual(['a']);
    await registry.createThing({ thingName: 'b', attributePayload: { attributes: { hw: 'RPI4' } } });
    await registry.createThing({ thingName: 'c', attributePayload: { attributes: { hw: 'cm4' } } });
    expect(registry.listThingsInGroup('pi4')).toEqual(['a', 'b']);
    await registry.deleteThing({ thingName: 'a' });
    expect(registry.listThingsInGroup('pi4')).toEqual(['b']);
  });
});

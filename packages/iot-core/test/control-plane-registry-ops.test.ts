import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  ListThingGroupsCommand,
  ListThingGroupsForThingCommand,
  paginateListThingGroups,
  UpdateThingCommand,
  UpdateThingGroupCommand,
  type ListThingGroupsCommandInput,
} from '@aws-sdk/client-iot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CREDENTIALS,
  failure,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';
import { signedFetch } from '../src/testing/sigv4-fetch.js';

let cp: ControlPlaneFixture;
beforeEach(async () => {
  cp = await startControlPlane();
});
afterEach(async () => {
  await cp.close();
});

const patch = (path: string, body: unknown) =>
  signedFetch(cp.endpoint, { method: 'PATCH', path, body: JSON.stringify(body), credentials: CREDENTIALS });
const describeThing = (thingName: string) => cp.iot.send(new DescribeThingCommand({ thingName }));

describe('UpdateThing through @aws-sdk/client-iot', () => {
  it('replaces attributes, merges them with merge: true, removes one given an empty value, and counts versions', async () => {
    await cp.iot.send(
      new CreateThingCommand({ thingName: 'dev', attributePayload: { attributes: { a: '1', b: '2' } } }),
    );
    await cp.iot.send(new UpdateThingCommand({ thingName: 'dev', attributePayload: { attributes: { c: '3' } } }));
    expect(await describeThing('dev')).toMatchObject({ attributes: { c: '3' }, version: 2 });

    await cp.iot.send(
      new UpdateThingCommand({ thingName: 'dev', attributePayload: { attributes: { d: '4', c: '30' }, merge: true } }),
    );
    expect(await describeThing('dev')).toMatchObject({ attributes: { c: '30', d: '4' }, version: 3 });

    await cp.iot.send(
      new UpdateThingCommand({
        thingName: 'dev',
        attributePayload: { attributes: { c: '' }, merge: true },
        expectedVersion: 3,
      }),
    );
    const after = await describeThing('dev');
    expect(after.attributes).toEqual({ d: '4' });
    expect(after.version).toBe(4);
  });

  it('refuses a stale expectedVersion with VersionConflictException and changes nothing', async () => {
    await cp.iot.send(new CreateThingCommand({ thingName: 'dev', attributePayload: { attributes: { a: '1' } } }));
    const e = await failure(
      cp.iot.send(
        new UpdateThingCommand({ thingName: 'dev', attributePayload: { attributes: { a: '2' } }, expectedVersion: 7 }),
      ),
    );
    expect(e).toMatchObject({ name: 'VersionConflictException', status: 409 });
    expect(await describeThing('dev')).toMatchObject({ attributes: { a: '1' }, version: 1 });
  });

  it('answers bad updates with AWS errors and leaves the thing as it was', async () => {
    await cp.iot.send(new CreateThingCommand({ thingName: 'dev', attributePayload: { attributes: { a: '1' } } }));
    const missing = await failure(cp.iot.send(new UpdateThingCommand({ thingName: 'ghost' })));
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    const typed = await failure(cp.iot.send(new UpdateThingCommand({ thingName: 'dev', thingTypeName: 'Sensor' })));
    expect(typed.name).toBe('ResourceNotFoundException');
    const both = await failure(
      cp.iot.send(new UpdateThingCommand({ thingName: 'dev', thingTypeName: 'Sensor', removeThingType: true })),
    );
    expect(both.name).toBe('InvalidRequestException');
    const tooMany = await failure(
      cp.iot.send(
        new UpdateThingCommand({
          thingName: 'dev',
          attributePayload: { attributes: { b: '2', c: '3', d: '4' }, merge: true },
        }),
      ),
    );
    expect(tooMany).toMatchObject({ name: 'InvalidRequestException', message: expect.stringContaining('at most 3') });
    const badValue = await failure(
      cp.iot.send(new UpdateThingCommand({ thingName: 'dev', attributePayload: { attributes: { a: 'sp ace' } } })),
    );
    expect(badValue.name).toBe('InvalidRequestException');
    const wrongType = await patch('/things/dev', { expectedVersion: 'one' });
    expect(wrongType).toMatchObject({ status: 400, errorType: 'InvalidRequestException' });
    expect(await describeThing('dev')).toMatchObject({ attributes: { a: '1' }, version: 1 });
  });
});

describe('UpdateThingGroup through @aws-sdk/client-iot', () => {
  it('updates the description and attributes, returns the new version and honours expectedVersion', async () => {
    await cp.iot.send(
      new CreateThingGroupCommand({
        thingGroupName: 'fleet',
        thingGroupProperties: { thingGroupDescription: 'old', attributePayload: { attributes: { ring: 'main' } } },
      }),
    );
    const updated = await cp.iot.send(
      new UpdateThingGroupCommand({
        thingGroupName: 'fleet',
        thingGroupProperties: {
          thingGroupDescription: 'new',
          attributePayload: { attributes: { site: 'b' }, merge: true },
        },
        expectedVersion: 1,
      }),
    );
    expect(updated.version).toBe(2);
    const described = await cp.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'fleet' }));
    expect(described.version).toBe(2);
    expect(described.thingGroupProperties).toEqual({
      thingGroupDescription: 'new',
      attributePayload: { attributes: { ring: 'main', site: 'b' } },
    });

    const stale = await failure(
      cp.iot.send(
        new UpdateThingGroupCommand({
          thingGroupName: 'fleet',
          thingGroupProperties: { thingGroupDescription: 'lost' },
          expectedVersion: 1,
        }),
      ),
    );
    expect(stale).toMatchObject({ name: 'VersionConflictException', status: 409 });
    const missing = await failure(
      cp.iot.send(new UpdateThingGroupCommand({ thingGroupName: 'nope', thingGroupProperties: {} })),
    );
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    const noProperties = await patch('/thing-groups/fleet', {});
    expect(noProperties).toMatchObject({ status: 400, errorType: 'InvalidRequestException' });
    const again = await cp.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'fleet' }));
    expect(again.version).toBe(2);
    expect(again.thingGroupProperties?.thingGroupDescription).toBe('new');
  });
});

describe('ListThingGroups and ListThingGroupsForThing through @aws-sdk/client-iot', () => {
  const tree = async (): Promise<void> => {
    // fleet > eu > eu_west ; fleet > us ; lab
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'fleet' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'eu', parentGroupName: 'fleet' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'eu_west', parentGroupName: 'eu' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'us', parentGroupName: 'fleet' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'lab' }));
  };
  const names = async (input: ListThingGroupsCommandInput): Promise<string[]> =>
    ((await cp.iot.send(new ListThingGroupsCommand(input))).thingGroups ?? []).map((g) => g.groupName ?? '');

  it('lists every group, the children of a parent, its subtree with recursive, and by name prefix', async () => {
    await tree();
    expect(await names({})).toEqual(['eu', 'eu_west', 'fleet', 'lab', 'us']);
    expect(await names({ parentGroup: 'fleet' })).toEqual(['eu', 'us']);
    expect(await names({ parentGroup: 'fleet', recursive: true })).toEqual(['eu', 'eu_west', 'us']);
    expect(await names({ namePrefixFilter: 'eu' })).toEqual(['eu', 'eu_west']);
    expect(await names({ namePrefixFilter: 'EU' })).toEqual([]);
    expect(await names({ parentGroup: 'fleet', recursive: true, namePrefixFilter: 'eu_' })).toEqual(['eu_west']);
    const first = await cp.iot.send(new ListThingGroupsCommand({ maxResults: 1 }));
    expect(first.thingGroups).toEqual([
      { groupName: 'eu', groupArn: `arn:aws:iot:us-east-1:123456789012:thinggroup/eu` },
    ]);
    const all: string[] = [];
    for await (const page of paginateListThingGroups({ client: cp.iot, pageSize: 2 }, {})) {
      all.push(...(page.thingGroups ?? []).map((g) => g.groupName ?? ''));
    }
    expect(all).toEqual(['eu', 'eu_west', 'fleet', 'lab', 'us']);
  });

  it('refuses an unknown parent, a bad page size and a bad token', async () => {
    await tree();
    expect(await failure(cp.iot.send(new ListThingGroupsCommand({ parentGroup: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect((await failure(cp.iot.send(new ListThingGroupsCommand({ maxResults: 251 })))).name).toBe(
      'InvalidRequestException',
    );
    expect((await failure(cp.iot.send(new ListThingGroupsCommand({ nextToken: 'garbage!' })))).name).toBe(
      'InvalidRequestException',
    );
  });

  it("lists a thing's groups, paged, and 404s an unknown thing", async () => {
    await tree();
    await cp.iot.send(new CreateThingCommand({ thingName: 'dev' }));
    await cp.iot.send(new AddThingToThingGroupCommand({ thingName: 'dev', thingGroupName: 'eu_west' }));
    await cp.iot.send(new AddThingToThingGroupCommand({ thingName: 'dev', thingGroupName: 'lab' }));
    const first = await cp.iot.send(new ListThingGroupsForThingCommand({ thingName: 'dev', maxResults: 1 }));
    expect(first.thingGroups?.map((g) => g.groupName)).toEqual(['eu_west']);
    const second = await cp.iot.send(
      new ListThingGroupsForThingCommand({ thingName: 'dev', maxResults: 1, nextToken: first.nextToken }),
    );
    expect(second.thingGroups).toEqual([
      { groupName: 'lab', groupArn: 'arn:aws:iot:us-east-1:123456789012:thinggroup/lab' },
    ]);
    expect(second.nextToken).toBeUndefined();
    expect(await failure(cp.iot.send(new ListThingGroupsForThingCommand({ thingName: 'ghost' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });
});

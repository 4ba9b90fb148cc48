import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DeleteThingCommand,
  DeleteThingGroupCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  ListThingsCommand,
  ListThingsInThingGroupCommand,
  paginateListThings,
  RemoveThingFromThingGroupCommand,
} from '@aws-sdk/client-iot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MembershipChange } from '../src/index.js';
import {
  ACCOUNT_ID,
  CREDENTIALS,
  REGION,
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

const rejection = async (p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> => {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return {
      name: err.name,
      message: err.message,
      ...(err.$metadata?.httpStatusCode === undefined ? {} : { status: err.$metadata.httpStatusCode }),
    };
  }
  throw new Error('expected the call to fail');
};

describe('things through @aws-sdk/client-iot', () => {
  it('creates, describes, lists and deletes a thing with AWS-shaped ARNs', async () => {
    const created = await cp.iot.send(
      new CreateThingCommand({ thingName: 'dev-1', attributePayload: { attributes: { model: 'pi4', site: 'lab' } } }),
    );
    expect(created.thingName).toBe('dev-1');
    expect(created.thingArn).toBe(`arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/dev-1`);
    expect(created.thingId).toMatch(/^[0-9a-f-]{36}$/);

    const described = await cp.iot.send(new DescribeThingCommand({ thingName: 'dev-1' }));
    expect(described).toMatchObject({
      thingName: 'dev-1',
      thingId: created.thingId,
      thingArn: created.thingArn,
      defaultClientId: 'dev-1',
      attributes: { model: 'pi4', site: 'lab' },
      version: 1,
    });

    const listed = await cp.iot.send(new ListThingsCommand({}));
    expect(listed.things?.map((t) => t.thingName)).toEqual(['dev-1']);

    await cp.iot.send(new DeleteThingCommand({ thingName: 'dev-1' }));
    expect(cp.registry.getThing('dev-1')).toBeUndefined();
    // Deleting a thing that does not exist succeeds, as AWS documents.
    await cp.iot.send(new DeleteThingCommand({ thingName: 'dev-1' }));
  });

  it('is idempotent for the same configuration and rejects a different one without changing the thing', async () => {
    const first = await cp.iot.send(
      new CreateThingCommand({ thingName: 'd', attributePayload: { attributes: { a: '1' } } }),
    );
    const again = await cp.iot.send(
      new CreateThingCommand({ thingName: 'd', attributePayload: { attributes: { a: '1' } } }),
    );
    expect(again.thingId).toBe(first.thingId);
    const e = await rejection(
      cp.iot.send(new CreateThingCommand({ thingName: 'd', attributePayload: { attributes: { a: '2' } } })),
    );
    expect(e).toMatchObject({ name: 'ResourceAlreadyExistsException', status: 409 });
    expect(cp.registry.getThing('d')?.attributes).toEqual({ a: '1' });
  });

  it('raises ResourceNotFoundException for an unknown thing', async () => {
    const e = await rejection(cp.iot.send(new DescribeThingCommand({ thingName: 'ghost' })));
    expect(e).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(e.message).toContain('ghost');
  });

  it('rejects a stale expectedVersion on delete with VersionConflictException and keeps the thing', async () => {
    await cp.iot.send(new CreateThingCommand({ thingName: 'v' }));
    const e = await rejection(cp.iot.send(new DeleteThingCommand({ thingName: 'v', expectedVersion: 7 })));
    expect(e).toMatchObject({ name: 'VersionConflictException', status: 409 });
    expect(cp.registry.getThing('v')).toBeDefined();
    await cp.iot.send(new DeleteThingCommand({ thingName: 'v', expectedVersion: 1 }));
    expect(cp.registry.getThing('v')).toBeUndefined();
  });

  it('pages ListThings with nextToken and filters by attribute (exact and prefix)', async () => {
    for (let i = 0; i < 7; i++) {
      await cp.iot.send(
        new CreateThingCommand({
          thingName: `t${i}`,
          attributePayload: { attributes: { fw: i < 3 ? '1.0.0' : '2.0.1' } },
        }),
      );
    }
    const first = await cp.iot.send(new ListThingsCommand({ maxResults: 3 }));
    expect(first.things?.map((t) => t.thingName)).toEqual(['t0', 't1', 't2']);
    expect(first.nextToken).toBeTypeOf('string');
    const names: string[] = [];
    for await (const p of paginateListThings({ client: cp.iot, pageSize: 2 }, {})) {
      names.push(...(p.things ?? []).map((t) => t.thingName ?? ''));
    }
    expect(names).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6']);

    const exact = await cp.iot.send(new ListThingsCommand({ attributeName: 'fw', attributeValue: '1.0.0' }));
    expect(exact.things?.map((t) => t.thingName)).toEqual(['t0', 't1', 't2']);
    const prefix = await cp.iot.send(
      new ListThingsCommand({ attributeName: 'fw', attributeValue: '2.', usePrefixAttributeValue: true }),
    );
    expect(prefix.things?.map((t) => t.thingName)).toEqual(['t3', 't4', 't5', 't6']);
    expect(prefix.things?.[0]).toMatchObject({ thingArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/t3`, version: 1 });
  });

  it('rejects out-of-range maxResults and a forged nextToken with InvalidRequestException', async () => {
    expect(await rejection(cp.iot.send(new ListThingsCommand({ maxResults: 0 })))).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    expect(await rejection(cp.iot.send(new ListThingsCommand({ maxResults: 251 })))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(await rejection(cp.iot.send(new ListThingsCommand({ nextToken: 'not-a-token' })))).toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  it('rejects a fourth attribute and an invalid attribute value, creating nothing', async () => {
    const four = await rejection(
      cp.iot.send(
        new CreateThingCommand({
          thingName: 'x',
          attributePayload: { attributes: { a: '1', b: '2', c: '3', d: '4' } },
        }),
      ),
    );
    expect(four.name).toBe('InvalidRequestException');
    expect(four.message).toContain('Too many attributes');
    const badValue = await rejection(
      cp.iot.send(new CreateThingCommand({ thingName: 'x', attributePayload: { attributes: { a: 'has space' } } })),
    );
    expect(badValue.name).toBe('InvalidRequestException');
    expect(badValue.message).toContain('/attributePayload/attributes/a');
    expect(cp.registry.getThing('x')).toBeUndefined();
  });

  it('rejects an invalid thing name in the path', async () => {
    const e = await rejection(cp.iot.send(new CreateThingCommand({ thingName: 'bad name!' })));
    expect(e).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(e.message).toContain('params');
  });
});

describe('thing groups through @aws-sdk/client-iot', () => {
  it('creates, describes, and manages membership; listeners hear committed changes', async () => {
    const changes: MembershipChange[] = [];
    const unsubscribe = cp.registry.onMembershipChange((c) => changes.push(c));
    const root = await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'fleet' }));
    expect(root.thingGroupArn).toBe(`arn:aws:iot:${REGION}:${ACCOUNT_ID}:thinggroup/fleet`);
    await cp.iot.send(
      new CreateThingGroupCommand({
        thingGroupName: 'canary',
        parentGroupName: 'fleet',
        thingGroupProperties: { thingGroupDescription: 'first wave', attributePayload: { attributes: { wave: '1' } } },
      }),
    );
    const described = await cp.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'canary' }));
    expect(described).toMatchObject({
      thingGroupName: 'canary',
      version: 1,
      thingGroupProperties: { thingGroupDescription: 'first wave', attributePayload: { attributes: { wave: '1' } } },
      thingGroupMetadata: {
        parentGroupName: 'fleet',
        rootToParentThingGroups: [{ groupName: 'fleet', groupArn: root.thingGroupArn }],
      },
    });
    expect(described.thingGroupMetadata?.creationDate).toBeInstanceOf(Date);
    expect(Math.abs((described.thingGroupMetadata?.creationDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    await cp.iot.send(new CreateThingCommand({ thingName: 'a' }));
    await cp.iot.send(new CreateThingCommand({ thingName: 'b' }));
    await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'canary', thingName: 'a' }));
    await cp.iot.send(
      new AddThingToThingGroupCommand({
        thingGroupArn: root.thingGroupArn,
        thingArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/b`,
      }),
    );
    // Adding again changes nothing and notifies nobody.
    await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'canary', thingName: 'a' }));
    expect(changes).toEqual([
      { kind: 'added', thingName: 'a', thingGroupName: 'canary' },
      { kind: 'added', thingName: 'b', thingGroupName: 'fleet' },
    ]);

    const direct = await cp.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'fleet' }));
    expect(direct.things).toEqual(['b']);
    const recursive = await cp.iot.send(
      new ListThingsInThingGroupCommand({ thingGroupName: 'fleet', recursive: true }),
    );
    expect(recursive.things).toEqual(['a', 'b']);
    const paged = await cp.iot.send(
      new ListThingsInThingGroupCommand({ thingGroupName: 'fleet', recursive: true, maxResults: 1 }),
    );
    expect(paged.things).toEqual(['a']);
    const rest = await cp.iot.send(
      new ListThingsInThingGroupCommand({
        thingGroupName: 'fleet',
        recursive: true,
        maxResults: 1,
        nextToken: paged.nextToken,
      }),
    );
    expect(rest).toMatchObject({ things: ['b'] });
    expect(rest.nextToken).toBeUndefined();

    await cp.iot.send(new RemoveThingFromThingGroupCommand({ thingGroupName: 'canary', thingName: 'a' }));
    await cp.iot.send(new DeleteThingCommand({ thingName: 'b' }));
    expect(changes.slice(2)).toEqual([
      { kind: 'removed', thingName: 'a', thingGroupName: 'canary' },
      { kind: 'removed', thingName: 'b', thingGroupName: 'fleet' },
    ]);
    expect(cp.registry.listThingsInGroup('fleet')).toEqual([]);
    unsubscribe();
  });

  it('CreateThingGroup is idempotent for identical properties and conflicts otherwise', async () => {
    const props = { thingGroupDescription: 'd', attributePayload: { attributes: { k: 'v' } } };
    const a = await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'g', thingGroupProperties: props }));
    const b = await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'g', thingGroupProperties: props }));
    expect(b.thingGroupId).toBe(a.thingGroupId);
    const e = await rejection(
      cp.iot.send(
        new CreateThingGroupCommand({ thingGroupName: 'g', thingGroupProperties: { thingGroupDescription: 'other' } }),
      ),
    );
    expect(e).toMatchObject({ name: 'ResourceAlreadyExistsException', status: 409 });
    const after = await cp.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'g' }));
    expect(after.thingGroupProperties?.thingGroupDescription).toBe('d');
  });

  it('reports unknown groups and things in membership calls and changes nothing', async () => {
    await cp.iot.send(new CreateThingCommand({ thingName: 'a' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'g' }));
    expect(
      await rejection(cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'nope', thingName: 'a' }))),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(
      await rejection(cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'g', thingName: 'nope' }))),
    ).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await rejection(cp.iot.send(new AddThingToThingGroupCommand({ thingName: 'a' })))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(await rejection(cp.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await rejection(cp.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(cp.registry.listThingsInGroup('g')).toEqual([]);
  });

  it('deletes a group (missing groups succeed), refusing while it has children or on a stale version', async () => {
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'p' }));
    await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'c', parentGroupName: 'p' }));
    expect(await rejection(cp.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'p' })))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(
      await rejection(cp.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'c', expectedVersion: 9 }))),
    ).toMatchObject({ name: 'VersionConflictException', status: 409 });
    expect(cp.registry.getThingGroup('p')).toBeDefined();
    await cp.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'c' }));
    await cp.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'p' }));
    await cp.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'never-existed' }));
    expect(cp.registry.getThingGroup('p')).toBeUndefined();
  });
});

describe('request validation on registry routes (raw signed HTTP)', () => {
  const post = (path: string, body: string) =>
    signedFetch(cp.endpoint, { method: 'POST', path, body, credentials: CREDENTIALS });

  it('rejects malformed JSON, wrong types and unknown fields with InvalidRequestException, creating nothing', async () => {
    const malformed = await post('/things/j1', '{"attributePayload": ');
    expect(malformed.status).toBe(400);
    expect(malformed.errorType).toBe('InvalidRequestException');
    expect(JSON.parse(malformed.body)).toMatchObject({ message: expect.stringContaining('not valid JSON') });

    const wrongType = await post('/things/j1', JSON.stringify({ attributePayload: { attributes: { a: 5 } } }));
    expect(wrongType.status).toBe(400);
    expect(wrongType.errorType).toBe('InvalidRequestException');
    expect(JSON.parse(wrongType.body).message).toContain('/attributePayload/attributes/a');

    const notObject = await post('/things/j1', '[1,2]');
    expect(notObject.errorType).toBe('InvalidRequestException');

    const unknownField = await post('/things/j1', JSON.stringify({ attributePayload: {}, colour: 'red' }));
    expect(unknownField.errorType).toBe('InvalidRequestException');
    expect(JSON.parse(unknownField.body).message).toContain('colour');

    expect(cp.registry.getThing('j1')).toBeUndefined();
  });

  it('rejects an oversized body with 413 RequestEntityTooLargeException', async () => {
    const res = await post(
      '/things/big',
      JSON.stringify({ attributePayload: { attributes: { a: 'x'.repeat(200_000) } } }),
    );
    expect(res.status).toBe(413);
    expect(res.errorType).toBe('RequestEntityTooLargeException');
    expect(cp.registry.getThing('big')).toBeUndefined();
  });

  it('rejects a non-numeric maxResults in the query', async () => {
    const res = await signedFetch(cp.endpoint, {
      method: 'GET',
      path: '/things',
      query: { maxResults: 'lots' },
      credentials: CREDENTIALS,
    });
    expect(res.status).toBe(400);
    expect(res.errorType).toBe('InvalidRequestException');
    expect(JSON.parse(res.body).message).toContain('maxResults');
  });
});

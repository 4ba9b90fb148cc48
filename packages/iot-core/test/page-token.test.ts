import {
  AddThingToThingGroupCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  ListJobExecutionsForJobCommand,
  ListJobsCommand,
  ListThingsCommand,
  ListThingsInThingGroupCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import {
  ListNamedShadowsForThingCommand,
  UpdateThingShadowCommand,
  type IoTDataPlaneClient,
} from '@aws-sdk/client-iot-data-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startTestCore, type TestCore } from '@otafleet/iot-core/testing';
import { nameCursorTokens, offsetCursorTokens } from '../src/page-token.js';

const expectInvalidToken = (e: unknown, why: RegExp): void => {
  expect(e).toMatchObject({ name: 'InvalidRequestException', statusCode: 400 });
  expect((e as Error).message).toMatch(/^Invalid nextToken: /);
  expect((e as Error).message).toMatch(why);
};
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe('page tokens', () => {
  const things = nameCursorTokens('ListThings');
  const groups = nameCursorTokens('ListThingGroups');
  const offsets = offsetCursorTokens('ListJobs');

  it('round-trips a name cursor and an offset cursor, scoped or not; none for no token', () => {
    expect(things.decode(things.encode('pi-0007'))).toBe('pi-0007');
    expect(things.decode(things.encode('pi:ü', 'g1'), 'g1')).toBe('pi:ü');
    expect(offsets.decode(offsets.encode(150))).toBe(150);
    expect(things.decode(undefined)).toBeUndefined();
    expect(things.decode('')).toBeUndefined();
    // Opaque: the cursor is not readable in the token as such.
    expect(things.encode('pi-0007')).not.toContain('pi-0007');
  });

  it('refuses a token of another listing, or of the same listing narrowed to something else', () => {
    expectInvalidToken(
      thrown(() => groups.decode(things.encode('a'))),
      /belongs to ListThings, not ListThingGroups/,
    );
    expectInvalidToken(
      thrown(() => things.decode(things.encode('a', 'g1'), 'g2')),
      /belongs to ListThings\(g1\)/,
    );
    expectInvalidToken(
      thrown(() => things.decode(things.encode('a', 'g1'))),
      /not ListThings$/,
    );
  });

  it('refuses garbage and any tampered token', () => {
    for (const bad of ['garbage!', 'abc', '.', 'a.b', Buffer.from('{"l":"ListThings","c":"a"}').toString('base64url')])
      expectInvalidToken(
        thrown(() => things.decode(bad)),
        /not a token this service handed out/,
      );
    const good = things.encode('a');
    const [body, mac] = good.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ l: 'ListThings', c: 'zzz' })).toString('base64url');
    expectInvalidToken(
      thrown(() => things.decode(`${forgedBody}.${mac}`)),
      /not a token/,
    );
    const flipped = `${body}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    expectInvalidToken(
      thrown(() => things.decode(flipped)),
      /not a token/,
    );
    // An offset listing refuses a name cursor even with a valid MAC under its own listing name.
    expectInvalidToken(
      thrown(() => offsets.decode(nameCursorTokens('ListJobs').encode('x'))),
      /not a token/,
    );
  });
});

describe('every list operation uses them (real AWS SDK clients against a core)', () => {
  let t: TestCore;
  let iot: IoTClient;
  let data: IoTDataPlaneClient;

  beforeAll(async () => {
    t = await startTestCore();
    iot = t.iotClient();
    data = t.dataClient();
    await iot.send(new CreateThingGroupCommand({ thingGroupName: 'pg' }));
    for (const n of ['pt-1', 'pt-2', 'pt-3']) {
      await iot.send(new CreateThingCommand({ thingName: n }));
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'pg', thingName: n }));
      await data.send(
        new UpdateThingShadowCommand({ thingName: 'pt-1', shadowName: `s-${n}`, payload: Buffer.from('{"state":{}}') }),
      );
    }
    for (const j of ['pj-1', 'pj-2', 'pj-3'])
      await iot.send(
        new CreateJobCommand({ jobId: j, targets: [`arn:aws:iot:us-east-1:123456789012:thing/pt-1`], document: '{}' }),
      );
  });
  afterAll(async () => {
    await t.stop();
  });

  it('ListThings pages through with its tokens; a ListThingsInThingGroup token is refused by name', async () => {
    const first = await iot.send(new ListThingsCommand({ maxResults: 2 }));
    expect(first.things?.map((x) => x.thingName)).toEqual(['pt-1', 'pt-2']);
    const second = await iot.send(new ListThingsCommand({ maxResults: 2, nextToken: first.nextToken }));
    expect(second.things?.map((x) => x.thingName)).toEqual(['pt-3']);
    expect(second.nextToken).toBeUndefined();

    const inGroup = await iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'pg', maxResults: 1 }));
    expect(inGroup.nextToken).toBeDefined();
    const f = await failure(iot.send(new ListThingsCommand({ nextToken: inGroup.nextToken })));
    expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(f.message).toMatch(/^Invalid nextToken: it belongs to ListThingsInThingGroup\(pg\)/);
    expect((await failure(iot.send(new ListThingsCommand({ nextToken: 'garbage' })))).message).toMatch(
      /^Invalid nextToken/,
    );
  });

  it('ListJobs and ListJobExecutionsForJob refuse each other’s tokens, and ListJobs one with other filters', async () => {
    const page = await iot.send(new ListJobsCommand({ maxResults: 2 }));
    expect(page.jobs).toHaveLength(2);
    const rest = await iot.send(new ListJobsCommand({ maxResults: 2, nextToken: page.nextToken }));
    expect(rest.jobs).toHaveLength(1);
    const f = await failure(iot.send(new ListJobExecutionsForJobCommand({ jobId: 'pj-1', nextToken: page.nextToken })));
    expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(f.message).toMatch(/^Invalid nextToken: it belongs to ListJobs/);
    const g = await failure(iot.send(new ListJobsCommand({ status: 'COMPLETED', nextToken: page.nextToken })));
    expect(g.message).toMatch(/^Invalid nextToken/);
  });

  it('ListNamedShadowsForThing pages with its tokens and refuses one of another thing', async () => {
    const first = await data.send(new ListNamedShadowsForThingCommand({ thingName: 'pt-1', pageSize: 2 }));
    expect(first.results).toEqual(['s-pt-1', 's-pt-2']);
    const second = await data.send(
      new ListNamedShadowsForThingCommand({ thingName: 'pt-1', pageSize: 2, nextToken: first.nextToken }),
    );
    expect(second.results).toEqual(['s-pt-3']);
    const f = await failure(
      data.send(new ListNamedShadowsForThingCommand({ thingName: 'pt-2', nextToken: first.nextToken })),
    );
    expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(f.message).toMatch(/^Invalid nextToken: it belongs to ListNamedShadowsForThing\(pt-1\)/);
  });
});

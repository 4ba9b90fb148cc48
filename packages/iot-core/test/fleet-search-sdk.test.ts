import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeThingCommand,
  IoTClient,
  ListThingGroupsForThingCommand,
  SearchIndexCommand,
  type ThingDocument,
} from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient, UpdateThingShadowCommand } from '@aws-sdk/client-iot-data-plane';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import type { IndexedThing } from '../src/registry/search/index.js';
import { generateFleet } from './fleet-query-fleet.js';
import { QueryGenerator, reference } from './fleet-query-reference.js';
import { failure } from '../src/testing/control-plane-fixture.js';
import { prng, Rand } from '../src/testing/seeded-random.js';

/**
 * SearchIndex through @aws-sdk/client-iot against a running core, checked against the brute-force reference
 * (test/fleet-query-reference.ts) evaluated on the same things as the core stored them (read back through
 * DescribeThing, ListThingGroupsForThing and GetThingShadow).
 */
const SEED = 20_261_202;
const FLEET = 60;
const QUERIES = 60;

let dir: string;
let core: LocalCore;
let iot: IoTClient;
let data: IoTDataPlaneClient;
const stored: IndexedThing[] = [];

const validGroup = (name: string): string => name.replace(/[^a-zA-Z0-9:_-]/g, '_');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-search-'));
  const config = loadConfig(['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0'], {});
  core = await startLocalCore(config, pino({ level: 'silent' }));
  const clientConfig = {
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  };
  iot = new IoTClient(clientConfig);
  data = new IoTDataPlaneClient(clientConfig);

  const fleet = generateFleet(new Rand(prng(SEED)), FLEET);
  const groups = new Set(fleet.flatMap((t) => t.thingGroupNames.map(validGroup)));
  for (const thingGroupName of groups) await iot.send(new CreateThingGroupCommand({ thingGroupName }));
  await Promise.all(
    fleet.map(async (thing) => {
      const { thingName } = thing;
      await iot.send(new CreateThingCommand({ thingName, attributePayload: { attributes: { ...thing.attributes } } }));
      for (const g of thing.thingGroupNames) {
        await iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: validGroup(g) }));
      }
      if (thing.shadow !== undefined) {
        const payload = Buffer.from(JSON.stringify({ state: thing.shadow }));
        await data.send(new UpdateThingShadowCommand({ thingName, payload }));
      }
    }),
  );
  // The fleet as the core holds it: the reference judges what the core was given to index.
  for (const { thingName } of fleet) {
    const described = await iot.send(new DescribeThingCommand({ thingName }));
    const groupsOf = await iot.send(new ListThingGroupsForThingCommand({ thingName, maxResults: 250 }));
    let shadow: IndexedThing['shadow'];
    try {
      const doc = await data.send(new GetThingShadowCommand({ thingName }));
      const { state } = JSON.parse(Buffer.from(doc.payload ?? new Uint8Array()).toString('utf8')) as {
        state: { reported?: unknown; desired?: unknown };
      };
      shadow = {
        ...(state.reported === undefined ? {} : { reported: state.reported }),
        ...(state.desired === undefined ? {} : { desired: state.desired }),
      };
    } catch {
      shadow = undefined;
    }
    stored.push({
      thingName,
      attributes: described.attributes ?? {},
      thingGroupNames: (groupsOf.thingGroups ?? []).map((g) => g.groupName ?? ''),
      ...(shadow === undefined ? {} : { shadow }),
    });
  }
}, 120_000);

afterAll(async () => {
  iot?.destroy();
  data?.destroy();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of a search, with a page size that changes from page to page. */
async function searchAll(queryString: string, rand: Rand): Promise<ThingDocument[]> {
  const out: ThingDocument[] = [];
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new SearchIndexCommand({ queryString, maxResults: rand.int(1, 40), nextToken }));
    out.push(...(page.things ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return out;
}

describe('SearchIndex through @aws-sdk/client-iot', () => {
  it('answers generated queries exactly as a brute-force filter over the same registry, across pages', async () => {
    const rand = new Rand(prng(SEED + 1));
    const generator = new QueryGenerator(rand);
    const byName = [...stored].sort((a, b) => (a.thingName < b.thingName ? -1 : 1));
    let nonEmpty = 0;
    for (let i = 0; i < QUERIES; i++) {
      const { gen, text } = generator.query();
      const expected = byName.filter((t) => reference(gen, t)).map((t) => t.thingName);
      const got = (await searchAll(text, rand)).map((t) => t.thingName);
      expect({ text, got }).toEqual({ text, got: expected });
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(QUERIES / 4);
  }, 120_000);

  it('returns AWS thing documents: id, attributes, groups, the shadow as a JSON string, connectivity', async () => {
    const withShadow = stored.find((t) => t.shadow !== undefined && t.thingGroupNames.length > 0);
    if (withShadow === undefined) throw new Error('the generated fleet has no thing with a shadow and a group');
    const found = await iot.send(new SearchIndexCommand({ queryString: `thingName:${withShadow.thingName}` }));
    expect(found.things).toHaveLength(1);
    const doc = found.things?.[0];
    expect(doc?.thingId).toMatch(/^[0-9a-f-]{36}$/);
    expect(doc?.attributes).toEqual(withShadow.attributes);
    expect(doc?.thingGroupNames).toEqual(withShadow.thingGroupNames);
    expect(JSON.parse(doc?.shadow ?? '{}')).toEqual(withShadow.shadow);
    expect(doc?.connectivity).toEqual({ connected: false });
    expect(found.thingGroups).toEqual([]);
    expect(found.nextToken).toBeUndefined();
  });

  it('refuses what it cannot answer with AWS errors naming the problem', async () => {
    const bad = await failure(iot.send(new SearchIndexCommand({ queryString: 'attributes.hw:(rpi4' })));
    expect(bad).toMatchObject({ name: 'InvalidQueryException', status: 400 });
    expect(bad.message).toContain('expected ")"');
    const field = await failure(iot.send(new SearchIndexCommand({ queryString: 'colour:red' })));
    expect(field).toMatchObject({
      name: 'InvalidQueryException',
      message: expect.stringContaining('Unsupported field'),
    });
    const index = await failure(iot.send(new SearchIndexCommand({ indexName: 'AWS_ThingGroups', queryString: '*' })));
    expect(index).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    const size = await failure(iot.send(new SearchIndexCommand({ queryString: '*', maxResults: 101 })));
    expect(size).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    const version = await failure(iot.send(new SearchIndexCommand({ queryString: '*', queryVersion: '2020-01-01' })));
    expect(version.name).toBe('InvalidRequestException');
    const token = await failure(iot.send(new SearchIndexCommand({ queryString: '*', nextToken: 'not-a-token' })));
    expect(token.name).toBe('InvalidRequestException');
  });
});

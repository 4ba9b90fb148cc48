import {
  AddThingToThingGroupCommand,
  CreateDynamicThingGroupCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DeleteDynamicThingGroupCommand,
  DeleteThingGroupCommand,
  DescribeThingGroupCommand,
  IoTClient,
  ListThingsInThingGroupCommand,
  UpdateDynamicThingGroupCommand,
  UpdateThingCommand,
} from '@aws-sdk/client-iot';
import { jobsNotifyNextTopic, shadowTopic } from '@otafleet/protocol';
import type { MqttClient } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import { failure } from '../src/testing/control-plane-fixture.js';
import { signedFetch } from '../src/testing/sigv4-fetch.js';
import { connectClient, nextMessage } from '../src/testing/mqtt.js';

let dir: string;
let core: LocalCore;
let iot: IoTClient;
const devices: MqttClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dynamic-groups-'));
  const config = loadConfig(
    ['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0', '--mqtt-tcp-port', '0'],
    {},
  );
  core = await startLocalCore(config, pino({ level: 'silent' }));
  iot = new IoTClient({
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.endAsync();
  iot?.destroy();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

const members = async (thingGroupName: string): Promise<string[]> =>
  (await iot.send(new ListThingsInThingGroupCommand({ thingGroupName }))).things ?? [];

/** Membership that follows an MQTT message settles after the shadow batch and the registry's write are on disk. */
async function eventually(thingGroupName: string, expected: string[], what: string): Promise<void> {
  let last: string[] = [];
  for (let i = 0; i < 200; i++) {
    last = await members(thingGroupName);
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${what}: members of ${thingGroupName} are ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`,
  );
}

const thing = (thingName: string, attributes: Record<string, string> = {}) =>
  iot.send(new CreateThingCommand({ thingName, attributePayload: { attributes } }));

async function device(thingName: string): Promise<MqttClient> {
  const client = await connectClient(core.mqttTcpPort ?? 0, thingName);
  devices.push(client);
  return client;
}

const report = (client: MqttClient, thingName: string, reported: unknown): Promise<unknown> =>
  client.publishAsync(shadowTopic({ thingName, operation: 'update' }), JSON.stringify({ state: { reported } }), {
    qos: 1,
  });

describe('dynamic thing groups through @aws-sdk/client-iot', () => {
  it('starts with the things its query matches and follows attribute updates in and out', async () => {
    await thing('hot-1', { temperature: '70' });
    await thing('hot-2', { temperature: '50' });
    const created = await iot.send(
      new CreateDynamicThingGroupCommand({ thingGroupName: 'hot', queryString: 'attributes.temperature>60' }),
    );
    expect(created).toMatchObject({
      thingGroupName: 'hot',
      thingGroupArn: 'arn:aws:iot:us-east-1:123456789012:thinggroup/hot',
      indexName: 'AWS_Things',
      queryString: 'attributes.temperature>60',
      queryVersion: '2017-09-30',
    });
    expect(await members('hot')).toEqual(['hot-1']);

    await iot.send(
      new UpdateThingCommand({ thingName: 'hot-2', attributePayload: { attributes: { temperature: '80' } } }),
    );
    await iot.send(
      new UpdateThingCommand({ thingName: 'hot-1', attributePayload: { attributes: { temperature: '10' } } }),
    );
    expect(await members('hot')).toEqual(['hot-2']);
    await thing('hot-3', { temperature: '99' }); // a new thing is evaluated as it is created
    expect(await members('hot')).toEqual(['hot-2', 'hot-3']);

    const described = await iot.send(new DescribeThingGroupCommand({ thingGroupName: 'hot' }));
    expect(described).toMatchObject({
      queryString: 'attributes.temperature>60',
      indexName: 'AWS_Things',
      status: 'ACTIVE',
    });

    const updated = await iot.send(
      new UpdateDynamicThingGroupCommand({
        thingGroupName: 'hot',
        thingGroupProperties: { thingGroupDescription: 'cold now' },
        queryString: 'attributes.temperature<20',
        expectedVersion: 1,
      }),
    );
    expect(updated.version).toBe(2);
    expect(await members('hot')).toEqual(['hot-1']);
    const stale = await failure(
      iot.send(
        new UpdateDynamicThingGroupCommand({
          thingGroupName: 'hot',
          thingGroupProperties: {},
          queryString: '*',
          expectedVersion: 1,
        }),
      ),
    );
    expect(stale).toMatchObject({ name: 'VersionConflictException', status: 409 });
    expect(await members('hot')).toEqual(['hot-1']);

    await iot.send(new DeleteDynamicThingGroupCommand({ thingGroupName: 'hot', expectedVersion: 2 }));
    expect((await failure(iot.send(new DescribeThingGroupCommand({ thingGroupName: 'hot' })))).name).toBe(
      'ResourceNotFoundException',
    );
  });

  it('follows static group membership when its query reads thingGroupNames', async () => {
    await thing('grp-1');
    await iot.send(new CreateThingGroupCommand({ thingGroupName: 'canary' }));
    await iot.send(
      new CreateDynamicThingGroupCommand({ thingGroupName: 'canary-view', queryString: 'thingGroupNames:canary' }),
    );
    expect(await members('canary-view')).toEqual([]);
    await iot.send(new AddThingToThingGroupCommand({ thingName: 'grp-1', thingGroupName: 'canary' }));
    expect(await members('canary-view')).toEqual(['grp-1']);
  });

  it('refuses bad definitions and static operations on a dynamic group, changing nothing', async () => {
    await thing('bad-1', { temperature: '70' });
    const query = await failure(
      iot.send(
        new CreateDynamicThingGroupCommand({ thingGroupName: 'broken', queryString: 'attributes.temperature:(' }),
      ),
    );
    expect(query).toMatchObject({ name: 'InvalidQueryException', status: 400 });
    expect((await failure(iot.send(new DescribeThingGroupCommand({ thingGroupName: 'broken' })))).name).toBe(
      'ResourceNotFoundException',
    );
    const index = await failure(
      iot.send(new CreateDynamicThingGroupCommand({ thingGroupName: 'idx', queryString: '*', indexName: 'Other' })),
    );
    expect(index.name).toBe('ResourceNotFoundException');

    await iot.send(
      new CreateDynamicThingGroupCommand({ thingGroupName: 'warm', queryString: 'attributes.temperature>60' }),
    );
    const again = await failure(
      iot.send(new CreateDynamicThingGroupCommand({ thingGroupName: 'warm', queryString: '*' })),
    );
    expect(again).toMatchObject({ name: 'ResourceAlreadyExistsException', status: 409 });
    const add = await failure(
      iot.send(new AddThingToThingGroupCommand({ thingName: 'bad-1', thingGroupName: 'warm' })),
    );
    expect(add.name).toBe('InvalidRequestException');
    const staticDelete = await failure(iot.send(new DeleteThingGroupCommand({ thingGroupName: 'warm' })));
    expect(staticDelete.name).toBe('InvalidRequestException');
    const parent = await failure(
      iot.send(new CreateThingGroupCommand({ thingGroupName: 'child', parentGroupName: 'warm' })),
    );
    expect(parent.name).toBe('InvalidRequestException');
    await iot.send(new CreateThingGroupCommand({ thingGroupName: 'plain' }));
    const dynamicDelete = await failure(iot.send(new DeleteDynamicThingGroupCommand({ thingGroupName: 'plain' })));
    expect(dynamicDelete.name).toBe('InvalidRequestException');
    const badUpdate = await failure(
      iot.send(
        new UpdateDynamicThingGroupCommand({
          thingGroupName: 'warm',
          thingGroupProperties: {},
          queryString: 'attributes.temperature:[1 TO',
        }),
      ),
    );
    expect(badUpdate).toMatchObject({ name: 'InvalidQueryException', status: 400 });
    const staleDelete = await failure(
      iot.send(new DeleteDynamicThingGroupCommand({ thingGroupName: 'warm', expectedVersion: 9 })),
    );
    expect(staleDelete).toMatchObject({ name: 'VersionConflictException', status: 409 });
    const missing = await failure(
      iot.send(
        new UpdateDynamicThingGroupCommand({ thingGroupName: 'nope', thingGroupProperties: {}, queryString: '*' }),
      ),
    );
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    const wrongBody = await signedFetch(core.httpEndpoint, {
      method: 'POST',
      path: '/dynamic-thing-groups/typed',
      body: JSON.stringify({ queryString: 42 }),
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    });
    expect(wrongBody).toMatchObject({ status: 400, errorType: 'InvalidRequestException' });
    const searchBody = await signedFetch(core.httpEndpoint, {
      method: 'POST',
      path: '/indices/search',
      body: '{"queryString": "*", "maxResults": "ten"}',
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    });
    expect(searchBody).toMatchObject({ status: 400, errorType: 'InvalidRequestException' });
    expect((await failure(iot.send(new DescribeThingGroupCommand({ thingGroupName: 'typed' })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect(await members('warm')).toContain('bad-1');
    expect(await iot.send(new DescribeThingGroupCommand({ thingGroupName: 'warm' }))).toMatchObject({
      queryString: 'attributes.temperature>60',
      version: 1,
    });
  });

  it('lets a thing enter and leave as its reported shadow (sent over MQTT) and its connection change', async () => {
    await thing('shd-1');
    await iot.send(
      new CreateDynamicThingGroupCommand({
        thingGroupName: 'fw2',
        queryString: 'shadow.reported.firmware.version:2.0.0',
      }),
    );
    await iot.send(
      new CreateDynamicThingGroupCommand({ thingGroupName: 'online', queryString: 'connectivity.connected:true' }),
    );
    expect(await members('online')).toEqual([]);
    const client = await device('shd-1');
    await eventually('online', ['shd-1'], 'after connecting');
    await report(client, 'shd-1', { firmware: { version: '2.0.0' } });
    await eventually('fw2', ['shd-1'], 'after reporting 2.0.0');
    await report(client, 'shd-1', { firmware: { version: '1.0.0' } });
    await eventually('fw2', [], 'after reporting 1.0.0');
    await client.endAsync();
    await eventually('online', [], 'after disconnecting');
  });

  it('brings a CONTINUOUS job to a device whose reported shadow makes it enter the targeted group', async () => {
    await thing('job-1');
    const group = await iot.send(
      new CreateDynamicThingGroupCommand({ thingGroupName: 'ready', queryString: 'shadow.reported.ready:true' }),
    );
    await iot.send(
      new CreateJobCommand({
        jobId: 'dyn-continuous',
        targets: [group.thingGroupArn ?? ''],
        targetSelection: 'CONTINUOUS',
        document: JSON.stringify({ operation: 'update', version: '2.0.0' }),
      }),
    );
    const client = await device('job-1');
    const notifyNext = jobsNotifyNextTopic('job-1');
    await client.subscribeAsync(notifyNext, { qos: 1 });
    const notified = nextMessage(client, notifyNext, 15_000);
    await report(client, 'job-1', { ready: true });
    const message = JSON.parse((await notified).toString('utf8')) as {
      execution?: { jobId?: string; status?: string; jobDocument?: unknown };
    };
    expect(message.execution).toMatchObject({
      jobId: 'dyn-continuous',
      status: 'QUEUED',
      jobDocument: { operation: 'update', version: '2.0.0' },
    });
    expect(await members('ready')).toEqual(['job-1']);
  }, 30_000);
});

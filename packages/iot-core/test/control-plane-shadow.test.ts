import {
  DeleteThingShadowCommand,
  GetThingShadowCommand,
  ListNamedShadowsForThingCommand,
  UpdateThingShadowCommand,
} from '@aws-sdk/client-iot-data-plane';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectClient, nextMessage } from '../src/testing/mqtt.js';
import {
  CREDENTIALS,
  realServices,
  startControlPlane,
  type ControlPlaneFixture,
  failure,
} from '../src/testing/control-plane-fixture.js';
import { signedFetch } from '../src/testing/sigv4-fetch.js';

let cp: ControlPlaneFixture;
const devices: MqttClient[] = [];
beforeEach(async () => {
  cp = await startControlPlane(realServices);
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.endAsync()));
  await cp.close();
});

const json = (payload: Uint8Array | undefined): Record<string, unknown> =>
  JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as Record<string, unknown>;
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe('shadows through @aws-sdk/client-iot-data-plane against the real Shadow service', () => {
  it('updates, gets (with delta) and deletes the classic shadow; the update publishes /delta over MQTT', async () => {
    const device = await connectClient(cp.brokerPort ?? 0, 'dev-1');
    devices.push(device);
    await device.subscribeAsync('$aws/things/dev-1/shadow/update/delta', { qos: 1 });
    const delta = nextMessage(device, '$aws/things/dev-1/shadow/update/delta');

    const updated = await cp.data.send(
      new UpdateThingShadowCommand({ thingName: 'dev-1', payload: bytes({ state: { desired: { fw: '2.0.0' } } }) }),
    );
    expect(json(updated.payload)).toMatchObject({ state: { desired: { fw: '2.0.0' } }, version: 1 });
    expect(json(await delta)).toMatchObject({ state: { fw: '2.0.0' }, version: 1 });

    const got = await cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1' }));
    expect(json(got.payload)).toMatchObject({
      state: { desired: { fw: '2.0.0' }, delta: { fw: '2.0.0' } },
      version: 1,
    });

    const deleted = await cp.data.send(new DeleteThingShadowCommand({ thingName: 'dev-1' }));
    expect(json(deleted.payload)).toMatchObject({ version: 1 });
    const gone = await failure(cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1' })));
    expect(gone).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });

  it('keeps named shadows apart and lists them with paging', async () => {
    for (const name of ['cfg', 'net', 'ota']) {
      await cp.data.send(
        new UpdateThingShadowCommand({
          thingName: 'dev-1',
          shadowName: name,
          payload: bytes({ state: { reported: { n: name } } }),
        }),
      );
    }
    const cfg = await cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1', shadowName: 'cfg' }));
    expect(json(cfg.payload)).toMatchObject({ state: { reported: { n: 'cfg' } } });
    expect(await failure(cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });

    const first = await cp.data.send(new ListNamedShadowsForThingCommand({ thingName: 'dev-1', pageSize: 2 }));
    expect(first.results).toEqual(['cfg', 'net']);
    expect(first.timestamp).toBeTypeOf('number');
    const second = await cp.data.send(
      new ListNamedShadowsForThingCommand({ thingName: 'dev-1', pageSize: 2, nextToken: first.nextToken }),
    );
    expect(second.results).toEqual(['ota']);
    expect(second.nextToken).toBeUndefined();
  });

  it('passes the Shadow service rejections through by name and changes nothing', async () => {
    const conflict = await failure(
      cp.data.send(
        new UpdateThingShadowCommand({
          thingName: 'dev-1',
          payload: bytes({ state: { desired: { a: 1 } }, version: 9 }),
        }),
      ),
    );
    expect(conflict).toMatchObject({ name: 'ConflictException', status: 409 });
    const invalid = await failure(
      cp.data.send(
        new UpdateThingShadowCommand({ thingName: 'dev-1', payload: new TextEncoder().encode('{"state": ') }),
      ),
    );
    expect(invalid).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(await failure(cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('validates the shadow name and thing name before the service sees them', async () => {
    const badName = await signedFetch(cp.endpoint, {
      method: 'GET',
      path: '/things/dev-1/shadow',
      query: { name: 'no spaces allowed' },
      service: 'iotdata',
      credentials: CREDENTIALS,
    });
    expect(badName.status).toBe(400);
    expect(badName.errorType).toBe('InvalidRequestException');
    expect(JSON.parse(badName.body).message).toContain('/name');

    const badPage = await signedFetch(cp.endpoint, {
      method: 'GET',
      path: '/api/things/shadow/ListNamedShadowsForThing/dev-1',
      query: { pageSize: 'ten' },
      service: 'iotdata',
      credentials: CREDENTIALS,
    });
    expect(badPage.errorType).toBe('InvalidRequestException');
  });

  it('rejects a shadow update larger than the body limit with RequestEntityTooLargeException', async () => {
    const big = bytes({ state: { desired: { blob: 'x'.repeat(200_000) } } });
    const e = await failure(cp.data.send(new UpdateThingShadowCommand({ thingName: 'dev-1', payload: big })));
    expect(e).toMatchObject({ name: 'RequestEntityTooLargeException', status: 413 });
    expect(await failure(cp.data.send(new GetThingShadowCommand({ thingName: 'dev-1' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

import { io, iotshadow, mqtt } from 'aws-iot-device-sdk-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { ShadowHarness } from '../src/testing/shadow-harness.js';
import { within } from '../src/testing/sdk-streams.js';

let h: ShadowHarness | undefined;
let connection: mqtt.MqttClientConnection | undefined;
let shadow: iotshadow.IotShadowClientv2 | undefined;
afterEach(async () => {
  shadow?.close();
  await connection?.disconnect();
  await h?.close();
  shadow = connection = h = undefined;
});

/** AWS's own v2 shadow client (request-response, clientToken matching) over aws-crt MQTT 3.1.1. */
async function sdkClient(port: number, thingName: string): Promise<iotshadow.IotShadowClientv2> {
  connection = new mqtt.MqttClient().new_connection({
    client_id: thingName,
    host_name: '127.0.0.1',
    port,
    clean_session: true,
    keep_alive: 30,
    socket_options: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, 5000),
  });
  await within(connection.connect(), 10_000, 'connect');
  return iotshadow.IotShadowClientv2.newFromMqtt311(connection, {
    maxRequestResponseSubscriptions: 4,
    maxStreamingSubscriptions: 2,
    operationTimeoutInSeconds: 10,
  });
}

describe('shadow service with aws-iot-device-sdk-v2 IotShadowClientv2', () => {
  it('update, delta stream, get, version conflict and delete round-trip through the SDK models', async () => {
    h = await ShadowHarness.start();
    shadow = await sdkClient(h.broker.port, 'sdk-thing');

    const deltas: iotshadow.model.ShadowDeltaUpdatedEvent[] = [];
    const stream = shadow.createNamedShadowDeltaUpdatedStream({ thingName: 'sdk-thing', shadowName: 'ota' });
    const subscribed = new Promise<void>((resolve) =>
      stream.on('subscriptionStatus', (e) => {
        // SubscriptionStatusEventType.SubscriptionEstablished lives in aws-crt, not a direct dependency.
        if (Number(e.type) === 0) resolve();
      }),
    );
    stream.on('incomingPublish', (e) => deltas.push(e.message));
    stream.open();
    await within(subscribed, 5000, 'delta stream');

    const updated = await within(
      shadow.updateNamedShadow({
        thingName: 'sdk-thing',
        shadowName: 'ota',
        state: { reported: { fw: '1.0.0' }, desired: { fw: '1.1.0' } },
      }),
      10_000,
      'update',
    );
    expect(updated.version).toBe(1);
    expect(updated.state?.desired).toEqual({ fw: '1.1.0' });
    await expect.poll(() => deltas.length, { timeout: 5000 }).toBe(1);
    expect(deltas[0]?.state).toEqual({ fw: '1.1.0' });
    expect(deltas[0]?.version).toBe(1);

    const got = await within(shadow.getNamedShadow({ thingName: 'sdk-thing', shadowName: 'ota' }), 10_000, 'get');
    expect(got.state?.delta).toEqual({ fw: '1.1.0' });
    expect(got.state?.reported).toEqual({ fw: '1.0.0' });
    expect(got.version).toBe(1);

    const conflict = shadow.updateNamedShadow({
      thingName: 'sdk-thing',
      shadowName: 'ota',
      state: { reported: { fw: '1.1.0' } },
      version: 7,
    });
    await expect(within(conflict, 10_000, 'conflict')).rejects.toMatchObject({
      modeledError: { code: 409, message: 'Version conflict' },
    });

    const deleted = await within(
      shadow.deleteNamedShadow({ thingName: 'sdk-thing', shadowName: 'ota' }),
      10_000,
      'delete',
    );
    expect(deleted.version).toBe(1);
    await expect(
      within(shadow.getNamedShadow({ thingName: 'sdk-thing', shadowName: 'ota' }), 10_000, 'get'),
    ).rejects.toMatchObject({
      modeledError: { code: 404, message: "No shadow exists with name: 'sdk-thing~ota'" },
    });
    stream.close();
  });
});

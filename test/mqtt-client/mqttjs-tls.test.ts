import { connectMqtt, ManualClock, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aedesTls, logger, THING } from './brokers.js';
import { BACKOFF, counted, HALF, until } from './harness.js';
import { createTestPki, type TestPki } from './iot-core-test-helpers.js';

/** mqtt.js over mutual TLS against the embedded broker: TLS refusals, and the defaults the local core uses. */
let pki: TestPki;
let broker: Awaited<ReturnType<typeof aedesTls>>;
const connections: MqttConnection[] = [];
beforeAll(async () => {
  pki = await createTestPki([THING]);
  broker = await aedesTls(pki);
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await broker?.stop();
  await pki?.cleanup();
});

describe('mqtt.js over mutual TLS → aedes', () => {
  it('without a client certificate: NotAuthorized at once, naming the TLS alert (no clock advance needed)', async () => {
    await expect(
      connectMqtt({
        transport: mqttJsTransport({ url: `mqtts://127.0.0.1:${broker.port}`, tls: { ca: pki.caPem } }),
        clientId: THING,
        clock: new ManualClock(),
        logger,
      }),
    ).rejects.toMatchObject({ code: 'NotAuthorized', message: expect.stringMatching(/certificate required/) });
  });

  it('a certificate of another CA is dropped without an alert: retried, then ConnectFailed at the deadline', async () => {
    const clock = new ManualClock();
    const transport = counted(
      mqttJsTransport({ url: `mqtts://127.0.0.1:${broker.port}`, tls: { ca: pki.caPem, ...pki.foreignDevice } }),
    );
    let outcome: unknown;
    const attempt = connectMqtt({
      transport,
      clientId: THING,
      protocolVersion: 4,
      clock,
      random: HALF,
      backoff: BACKOFF,
      firstConnectTimeoutMs: 1000,
      logger,
    }).then(
      () => undefined,
      (e: unknown) => (outcome = e),
    );
    await until(() => transport.opens.total === 1 && transport.opens.inFlight === 0, 'the first attempt to fail');
    clock.advance(500); // the first retry...
    await until(() => transport.opens.total === 2 && transport.opens.inFlight === 0, 'the retry to fail');
    clock.advance(500); // ...and the deadline, before the second retry at 1500
    await attempt;
    expect(outcome).toMatchObject({
      code: 'ConnectFailed',
      message: expect.stringMatching(/within 1000 ms: .*closed the connection before CONNACK/),
    });
    expect(transport.opens.total).toBe(2);
  });

  it('with the defaults the local core uses (system clock, auto version): 3.1.1; the PUBACK follows the handler', async () => {
    const bus = await connectMqtt({
      transport: mqttJsTransport({
        url: `mqtts://127.0.0.1:${broker.port}`,
        tls: { ca: pki.caPem, cert: pki.service.cert, key: pki.service.key },
      }),
      clientId: 'svc.fleet',
      logger,
    });
    connections.push(bus);
    expect(bus.protocolVersion).toBe(4);
    const order: string[] = [];
    let release = (): void => undefined;
    await bus.subscribe('$aws/things/+/shadow/update', () => {
      order.push('handler started');
      return new Promise<void>((resolve) => {
        release = () => {
          order.push('handler done');
          resolve();
        };
      });
    });
    const device = await broker.rawClient({ identity: 'device', clientId: THING });
    // The device's own PUBACK comes from the broker at once; the bus's PUBACK to the broker waits for the handler.
    await device.publishAsync(`$aws/things/${THING}/shadow/update`, '{"state":{}}', { qos: 1 });
    await until(() => order.length === 1, 'the handler to start');
    broker.current().aedes.on('ack', (_packet, client) => {
      if (client?.id === 'svc.fleet') order.push('puback');
    });
    release();
    await until(() => order.length === 3, 'the PUBACK at the broker');
    expect(order).toEqual(['handler started', 'handler done', 'puback']);
    await device.endAsync(true);
  });
});

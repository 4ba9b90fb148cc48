import { startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import { awsIotSdkTransport, connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logger, THING } from './brokers.js';
import { createTestPki, type TestPki } from './iot-core-test-helpers.js';

/**
 * AWS IoT Core takes MQTT over mutual TLS on port 443 only with ALPN `x-amzn-mqtt-ca`. A TLS front that speaks
 * only that protocol (and hands the socket to the embedded broker, which authorizes by the client certificate)
 * shows what each transport offers.
 */
const ALPN = 'x-amzn-mqtt-ca';
let pki: TestPki;
let broker: EmbeddedBroker;
let front: Server;
let port: number;
const negotiated: (string | false | null)[] = [];
const connections: MqttConnection[] = [];

beforeAll(async () => {
  pki = await createTestPki([THING]);
  broker = await startEmbeddedBroker({ logger }); // its aedes serves the front's sockets
  front = createServer(
    {
      ca: pki.caPem,
      cert: pki.server.cert,
      key: pki.server.key,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [ALPN],
    },
    (socket) => {
      negotiated.push(socket.alpnProtocol);
      broker.aedes.handle(socket);
    },
  );
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  port = (front.address() as AddressInfo).port;
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  negotiated.length = 0;
});
afterAll(async () => {
  await new Promise<void>((resolve) => front?.close(() => resolve()));
  await broker?.close();
  await pki?.cleanup();
});

describe('ALPN for AWS IoT Core on port 443', () => {
  it('aws-iot-device-sdk-v2 offers x-amzn-mqtt-ca on its mTLS connections', async () => {
    const connection = await connectMqtt({
      transport: awsIotSdkTransport({ host: '127.0.0.1', port, ca: pki.caPem, ...pki.device(THING) }),
      clientId: THING,
      protocolVersion: 4,
      logger,
    });
    connections.push(connection);
    expect(negotiated).toEqual([ALPN]);
  });

  it('mqtt.js offers it when asked (tls.alpnProtocols), and nothing otherwise', async () => {
    const tls = { ca: pki.caPem, ...pki.device(THING) };
    for (const offered of [{ ...tls, alpnProtocols: [ALPN] }, tls]) {
      const connection = await connectMqtt({
        transport: mqttJsTransport({ url: `mqtts://127.0.0.1:${port}`, tls: offered }),
        clientId: THING,
        protocolVersion: 4,
        logger,
      });
      await connection.close();
    }
    expect(negotiated).toEqual([ALPN, false]);
  });
});

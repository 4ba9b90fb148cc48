import { io, iot, mqtt, mqtt5 } from 'aws-iot-device-sdk-v2';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from '../src/testing/mosquitto.js';
import { createTestPki, type TestPki } from '../src/testing/test-pki.js';
import { within } from '../src/testing/sdk-streams.js';

const logger = pino({ level: 'silent' });
const A = 'thing-a';
const B = 'thing-b';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki([A, B]);
});
afterAll(async () => {
  await pki.cleanup();
});

describe('aws-iot-device-sdk-v2 MQTT 3.1.1 client, mTLS, embedded broker', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ logger, tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
  });
  afterAll(async () => {
    await broker.close();
  });

  it('connects with its certificate from path, reaches its own topics and is refused another thing', async () => {
    const device = pki.device(A);
    const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(
      device.paths.certPath,
      device.paths.keyPath,
    )
      .with_certificate_authority_from_path(undefined, device.paths.caPath)
      .with_endpoint('127.0.0.1')
      .with_port(broker.tlsPort ?? 0)
      .with_client_id(A)
      .with_clean_session(true)
      .with_socket_options(new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, 5000))
      .build();
    const connection = new mqtt.MqttClient().new_connection(config);
    try {
      expect(await within(connection.connect(), 10_000, 'connect')).toBe(false); // no session present
      expect(broker.principalOf(A)).toEqual({ kind: 'thing', thingName: A });

      const granted = await within(
        connection.subscribe(`$aws/things/${A}/shadow/get/+`, mqtt.QoS.AtLeastOnce),
        5000,
        'subscribe',
      );
      expect(granted.qos).toBe(mqtt.QoS.AtLeastOnce);
      const refused = await within(
        connection.subscribe(`$aws/things/${B}/shadow/get/+`, mqtt.QoS.AtLeastOnce),
        5000,
        'subscribe B',
      );
      expect(refused.qos).toBe(128);

      const received = new Promise<string>((resolve) =>
        connection.on('message', (topic, payload) => resolve(`${topic} ${Buffer.from(payload).toString()}`)),
      );
      await within(
        connection.publish(`$aws/things/${A}/shadow/get/accepted`, '{"version":1}', mqtt.QoS.AtLeastOnce),
        5000,
        'publish',
      );
      expect(await within(received, 5000, 'message')).toBe(`$aws/things/${A}/shadow/get/accepted {"version":1}`);
    } finally {
      await connection.disconnect();
    }
  });
});

const binary = requireMosquitto();

describe('aws-iot-device-sdk-v2 MQTT 5 client, mTLS, Mosquitto', () => {
  let mosquitto: MosquittoProcess;
  beforeAll(async () => {
    mosquitto = await startTlsMosquitto(binary, join(pki.dir, 'mosquitto-sdk'), {
      cafile: join(pki.dir, 'ca.pem'),
      certfile: pki.server.paths.certPath,
      keyfile: pki.server.paths.keyPath,
      privilegedServices: [pki.serviceName],
      things: [A, B],
    });
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  it('connects with newDirectMqttBuilderWithMtlsFromPath, pub/subs its topics, is refused publishing into B', async () => {
    const device = pki.device(A);
    const config = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
      '127.0.0.1',
      device.paths.certPath,
      device.paths.keyPath,
    )
      .withPort(mosquitto.port)
      .withCertificateAuthorityFromPath(undefined, device.paths.caPath)
      .withConnectProperties({ clientId: A, keepAliveIntervalSeconds: 30 })
      .withSessionBehavior(mqtt5.ClientSessionBehavior.Clean)
      .build();
    const client = new mqtt5.Mqtt5Client(config);
    const connected = new Promise<void>((resolve, reject) => {
      client.once('connectionSuccess', () => resolve());
      client.once('connectionFailure', (e) => reject(new Error(`connection failure: ${String(e.error)}`)));
    });
    const stopped = new Promise<void>((resolve) => client.once('stopped', () => resolve()));
    client.start();
    try {
      await within(connected, 10_000, 'connect');
      const suback = await within(
        client.subscribe({
          subscriptions: [{ topicFilter: `$aws/things/${A}/jobs/+/get/+`, qos: mqtt5.QoS.AtLeastOnce }],
        }),
        5000,
        'subscribe',
      );
      expect(suback.reasonCodes).toEqual([mqtt5.SubackReasonCode.GrantedQoS1]);

      const received = new Promise<string>((resolve) =>
        client.on('messageReceived', (e) =>
          resolve(`${e.message.topicName} ${Buffer.from(e.message.payload as ArrayBuffer).toString()}`),
        ),
      );
      const own = await within(
        client.publish({
          topicName: `$aws/things/${A}/jobs/j1/get/accepted`,
          payload: '{}',
          qos: mqtt5.QoS.AtLeastOnce,
        }),
        5000,
        'publish',
      );
      expect(own?.reasonCode).toBe(mqtt5.PubackReasonCode.Success);
      expect(await within(received, 5000, 'message')).toBe(`$aws/things/${A}/jobs/j1/get/accepted {}`);

      const foreign = await within(
        client.publish({ topicName: `$aws/things/${B}/jobs/notify`, payload: '{}', qos: mqtt5.QoS.AtLeastOnce }),
        5000,
        'publish B',
      );
      expect(foreign?.reasonCode).toBe(mqtt5.PubackReasonCode.NotAuthorized);
    } finally {
      client.stop();
      await within(stopped, 5000, 'stop').catch(() => undefined);
      client.close();
    }
  });
});

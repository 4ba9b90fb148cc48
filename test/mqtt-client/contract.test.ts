import { awsIotSdkTransport, mqttJsStreamTransport, mqttJsTransport } from '@otafleet/mqtt-client';
import { afterAll, beforeAll } from 'vitest';
import { aedesMemory, aedesTcp, aedesTls, aedesWebSocket, mosquittoTls, OTHER_THING, THING } from './brokers.js';
import { describeMqttContract } from './contract.js';
import { createTestPki, freePort, type TestPki } from './iot-core-test-helpers.js';

/**
 * The MQTT client's contract over every transport, each against a real broker: mqtt.js by URL (TCP, mutual
 * TLS, WebSocket) and by stream (in-memory pairs) against the embedded aedes broker (MQTT 3.1.1), mqtt.js
 * MQTT 5 against Mosquitto 2, aws-iot-device-sdk-v2's 3.1.1 connection against aedes and its MQTT 5 client
 * against Mosquitto 2, all with mutual TLS where the broker authenticates.
 */
let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki([THING, OTHER_THING]);
});
afterAll(async () => {
  await pki?.cleanup();
});

const deadUrl = async (scheme: string): Promise<string> => `${scheme}://127.0.0.1:${await freePort()}`;
const FOREIGN_TOPIC = `$aws/things/${OTHER_THING}/shadow/update`;
const plain = {
  acksAfterHandler: true,
  refusedTopic: '$SYS/forged', // aedes reserves $SYS for itself, even without authentication
  refusesPublishByDisconnect: true,
  refusesCredentials: false,
  sharedSubscriptions: false,
} as const;
const authenticatedAedes = {
  refusedFilter: `$aws/things/${OTHER_THING}/shadow/update/accepted`,
  refusedTopic: FOREIGN_TOPIC,
  refusesPublishByDisconnect: true,
  refusesCredentials: true,
  sharedSubscriptions: false,
} as const;
const authenticatedMosquitto = {
  refusedFilter: `$aws/things/${OTHER_THING}/shadow/update/accepted`, // SUBACK 0x87 (dynamic-security plugin)
  refusedTopic: FOREIGN_TOPIC, // PUBACK 0x87
  refusesPublishByDisconnect: false,
  refusesCredentials: true,
  sharedSubscriptions: true,
} as const;

describeMqttContract(
  'mqtt.js over TCP → aedes',
  { ...plain, protocolVersion: 'auto', expectedVersion: 4 },
  async () => {
    const broker = await aedesTcp();
    return {
      broker,
      transport: () => mqttJsTransport({ url: `mqtt://127.0.0.1:${broker.port}` }),
      deadTransport: async () => mqttJsTransport({ url: await deadUrl('mqtt') }),
    };
  },
);

describeMqttContract(
  'mqtt.js over mutual TLS → aedes',
  { ...authenticatedAedes, protocolVersion: 'auto', expectedVersion: 4, acksAfterHandler: true },
  async () => {
    const broker = await aedesTls(pki);
    const tls = { ca: pki.caPem, ...pki.device(THING) };
    return {
      broker,
      transport: () => mqttJsTransport({ url: `mqtts://127.0.0.1:${broker.port}`, tls }),
      deadTransport: async () => mqttJsTransport({ url: await deadUrl('mqtts'), tls }),
      // AWS's thing policy, as the local core enforces it: the client id must be the certificate's thing name.
      refusedCredentials: () => ({
        transport: mqttJsTransport({ url: `mqtts://127.0.0.1:${broker.port}`, tls }),
        clientId: OTHER_THING,
      }),
    };
  },
);

describeMqttContract(
  'mqtt.js over WebSocket → aedes',
  { ...plain, protocolVersion: 4, expectedVersion: 4 },
  async () => {
    const broker = await aedesWebSocket();
    return {
      broker,
      transport: () => mqttJsTransport({ url: `ws://127.0.0.1:${broker.wsPort}/mqtt` }),
      deadTransport: async () => mqttJsTransport({ url: `${await deadUrl('ws')}/mqtt` }),
    };
  },
);

describeMqttContract(
  'mqtt.js over in-memory duplex streams → aedes.handle',
  { ...plain, protocolVersion: 4, expectedVersion: 4 },
  async () => {
    const broker = await aedesMemory();
    return {
      broker,
      transport: () => mqttJsStreamTransport(broker.createStream, { endpoint: 'memory' }),
      deadTransport: () =>
        Promise.resolve(
          mqttJsStreamTransport(() => {
            throw new Error('no broker behind this stream factory');
          }),
        ),
    };
  },
);

describeMqttContract(
  'mqtt.js MQTT 5 over mutual TLS → Mosquitto 2',
  { ...authenticatedMosquitto, protocolVersion: 'auto', expectedVersion: 5, acksAfterHandler: true },
  async () => {
    const broker = await mosquittoTls(pki);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    return {
      broker,
      transport: () => mqttJsTransport({ url, tls: { ca: pki.caPem, ...pki.device(THING) } }),
      deadTransport: async () =>
        mqttJsTransport({ url: await deadUrl('mqtts'), tls: { ca: pki.caPem, ...pki.device(THING) } }),
      // A certificate of another CA: Mosquitto's TLS layer answers with an alert (unknown CA).
      refusedCredentials: () => ({
        transport: mqttJsTransport({ url, tls: { ca: pki.caPem, ...pki.foreignDevice } }),
        clientId: THING,
      }),
    };
  },
);

describeMqttContract(
  'aws-iot-device-sdk-v2 MQTT 3.1.1 over mutual TLS → aedes (MQTT 5 refused, falls back)',
  { ...authenticatedAedes, protocolVersion: 'auto', expectedVersion: 4, acksAfterHandler: false },
  async () => {
    const broker = await aedesTls(pki);
    const device = { ca: pki.caPem, ...pki.device(THING) };
    return {
      broker,
      transport: () => awsIotSdkTransport({ host: '127.0.0.1', port: broker.port, ...device }),
      deadTransport: async () => awsIotSdkTransport({ host: '127.0.0.1', port: await freePort(), ...device }),
      refusedCredentials: () => ({
        transport: awsIotSdkTransport({ host: '127.0.0.1', port: broker.port, ...device }),
        clientId: OTHER_THING,
      }),
    };
  },
);

describeMqttContract(
  'aws-iot-device-sdk-v2 MQTT 5 over mutual TLS → Mosquitto 2',
  { ...authenticatedMosquitto, protocolVersion: 5, expectedVersion: 5, acksAfterHandler: true },
  async () => {
    const broker = await mosquittoTls(pki);
    const device = { ca: pki.caPem, ...pki.device(THING) };
    return {
      broker,
      transport: () => awsIotSdkTransport({ host: '127.0.0.1', port: broker.port, ...device }),
      deadTransport: async () => awsIotSdkTransport({ host: '127.0.0.1', port: await freePort(), ...device }),
      refusedCredentials: () => ({
        transport: awsIotSdkTransport({ host: '127.0.0.1', port: broker.port, ca: pki.caPem, ...pki.foreignDevice }),
        clientId: THING,
      }),
    };
  },
);

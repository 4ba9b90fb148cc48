import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, createStreamPair, mqttJsStreamTransport } from '@otafleet/mqtt-client';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import type { Principal } from '../src/identity/principal.js';
import {
  closed,
  collect,
  endAll,
  sleep,
  subscribeCodes,
  tryConnectTls,
  type ConnectOutcome,
} from '../src/testing/tls-clients.js';
import { createTestPki, type TestPki } from '../src/testing/test-pki.js';

/**
 * The same authorization table over both kinds of device connection: mutual TLS over a real socket, and an
 * in-memory stream pair handed to the broker with its principal (as the simulator connects). Whatever a TLS
 * device is refused, an in-memory one is refused too.
 */
const logger = pino({ level: 'silent' });
const A = 'thing-a';
const B = 'thing-b';

let pki: TestPki;
let broker: EmbeddedBroker;

/** In-memory mqtt.js connection carrying `principal`, reported like tryConnectTls reports a TLS one. */
function tryConnectStream(clientId: string, principal: Principal): Promise<ConnectOutcome> {
  const [clientEnd, serverEnd] = createStreamPair();
  broker.connectStream(serverEnd, { principal });
  const client = new mqtt.MqttClient(() => clientEnd, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ ok: true, client }));
    client.once('error', (e: Error & { code?: number | string }) => {
      client.end(true);
      resolve(
        typeof e.code === 'number'
          ? { ok: false, returnCode: e.code, error: e.message }
          : { ok: false, error: e.message },
      );
    });
  });
}

type Kind = 'tls' | 'in-memory';
const tryConnect = (kind: Kind, clientId: string, as: string): Promise<ConnectOutcome> => {
  if (kind === 'in-memory')
    return tryConnectStream(
      clientId,
      as === 'service' ? { kind: 'service', serviceName: pki.serviceName } : { kind: 'thing', thingName: as },
    );
  const cred = as === 'service' ? pki.service : pki.device(as);
  return tryConnectTls({ port: broker.tlsPort ?? 0, clientId, ca: pki.caPem, cert: cred.cert, key: cred.key });
};

beforeAll(async () => {
  pki = await createTestPki([A, B]);
  broker = await startEmbeddedBroker({ logger, tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
});
afterAll(async () => {
  await broker.close();
  await pki.cleanup();
});

describe.each<Kind>(['tls', 'in-memory'])('a device connected over %s', (kind) => {
  const clients: MqttClient[] = [];
  const connect = async (clientId: string, as: string): Promise<MqttClient> => {
    const outcome = await tryConnect(kind, clientId, as);
    if (!outcome.ok) throw new Error(`connect ${clientId} failed: ${outcome.error}`);
    clients.push(outcome.client);
    return outcome.client;
  };
  afterEach(async () => {
    await endAll(clients.splice(0));
  });

  it('is known by its principal and reaches its own topics, wildcards after its name included', async () => {
    const a = await connect(A, A);
    expect(broker.principalOf(A)).toEqual({ kind: 'thing', thingName: A });
    expect(await subscribeCodes(a, `$aws/things/${A}/shadow/get/+`)).toEqual([1]);
    expect(await subscribeCodes(a, `$share/g/dt/${A}/#`)).toEqual([1]);
    const got = collect(a, `$aws/things/${A}/shadow/get/accepted`);
    await a.publishAsync(`$aws/things/${A}/shadow/get/accepted`, 'x', { qos: 1 });
    await expect.poll(() => got.map(String)).toEqual(['x']);
  });

  it.each([
    `$aws/things/${B}/shadow/update/delta`,
    '$aws/things/+/shadow/update/delta',
    '#',
    `dt/${B}/#`,
    '$share/g/dt/+/health',
    `$share/g/$aws/things/${B}/jobs/notify`,
    '$share//x',
    '$aws/events/#',
    `$aws/events/presence/connected/${B}`,
  ])('is refused the subscription %s (SUBACK 0x80) and stays connected', async (filter) => {
    const a = await connect(A, A);
    expect(await subscribeCodes(a, filter)).toEqual([128]);
    expect(a.connected).toBe(true);
  });

  it.each([`$aws/things/${B}/jobs/notify`, `dt/${B}/health`, '$share/g/x', '$aws/events/presence/connected/x'])(
    'is disconnected for publishing to %s, and nothing is delivered there',
    async (topic) => {
      const svc = await connect('watcher', 'service');
      // for `$share/g/x` the watcher's filter is itself that shared subscription, which aedes stores literally
      expect(await subscribeCodes(svc, topic)).toEqual([1]);
      const got = collect(svc, topic);
      const a = await connect(A, A);
      const wasClosed = closed(a);
      a.publish(topic, 'forged', { qos: 1 });
      expect(await wasClosed).toBe(true);
      await sleep(150);
      expect(got).toEqual([]);
      expect(svc.connected).toBe(true);
    },
  );

  it('is refused when its client id is not its thing name (CONNACK 2)', async () => {
    const outcome = await tryConnect(kind, B, A);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.returnCode).toBe(2);
  });

  it('a service principal reaches every thing and the event space', async () => {
    const svc = await connect('fleet-svc', 'service');
    expect(broker.principalOf('fleet-svc')).toEqual({ kind: 'service', serviceName: pki.serviceName });
    expect(await subscribeCodes(svc, '$aws/things/+/shadow/update')).toEqual([1]);
    expect(await subscribeCodes(svc, '$aws/events/#')).toEqual([1]);
  });
});

describe('in-memory connections: bad identities', () => {
  it.each<[string, unknown]>([
    ['no principal', {}],
    ['an unknown kind', { principal: { kind: 'root', thingName: A } }],
    ['an invalid thing name', { principal: { kind: 'thing', thingName: 'a/b' } }],
    ['a thing name of the wrong type', { principal: { kind: 'thing', thingName: 7 } }],
    ['an invalid service name', { principal: { kind: 'service', serviceName: '' } }],
    ['a certificate id that is not SHA-256 hex', { principal: { kind: 'thing', thingName: A }, certificateId: 'xyz' }],
  ])('refuses %s with InvalidStreamIdentity and serves nothing on the stream', async (_what, identity) => {
    const [clientEnd, serverEnd] = createStreamPair();
    expect(() => broker.connectStream(serverEnd, identity as never)).toThrow(
      expect.objectContaining({ code: 'InvalidStreamIdentity' }),
    );
    // a real client on the other end: its CONNECT is never answered
    const client = new mqtt.MqttClient(() => clientEnd, { clientId: A, reconnectPeriod: 0, connectTimeout: 5000 });
    let connected = false;
    client.on('connect', () => (connected = true));
    await sleep(200);
    expect(connected).toBe(false);
    expect(broker.principalOf(A)).toBeUndefined();
    client.end(true);
    clientEnd.destroy();
  });
});

describe('the simulator path: the reconnecting client over mqttJsStreamTransport', () => {
  it('connects with its identity, reaches its own topics, and is refused a thing it is not', async () => {
    const streamFor = (thingName: string) => () => {
      const [clientEnd, serverEnd] = createStreamPair();
      broker.connectStream(serverEnd, { principal: { kind: 'thing', thingName } });
      return clientEnd;
    };
    const device = await connectMqtt({ transport: mqttJsStreamTransport(streamFor(A)), clientId: A, logger });
    try {
      expect(broker.principalOf(A)).toEqual({ kind: 'thing', thingName: A });
      const got: string[] = [];
      await device.subscribe(`$aws/things/${A}/jobs/notify-next`, (m) => void got.push(m.payload.toString()));
      await device.publish(`$aws/things/${A}/jobs/notify-next`, 'n', { qos: 1 });
      await expect.poll(() => got).toEqual(['n']);
      await expect(device.subscribe(`$aws/things/${B}/jobs/notify-next`, () => undefined)).rejects.toMatchObject({
        code: 'SubscribeRefused',
      });
    } finally {
      await device.close();
    }
    // an identity that does not match the client id is refused at CONNECT
    await expect(
      connectMqtt({
        transport: mqttJsStreamTransport(streamFor(B)),
        clientId: A,
        logger,
        firstConnectTimeoutMs: 3000,
      }),
    ).rejects.toMatchObject({ code: 'NotAuthorized' });
  });
});

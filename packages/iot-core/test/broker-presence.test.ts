import { X509Certificate } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PRESENCE_EVENTS_FILTER,
  PresenceConnectedEventSchema,
  PresenceDisconnectedEventSchema,
  presenceConnectedTopic,
  presenceDisconnectedTopic,
  type PresenceConnectedEvent,
  type PresenceDisconnectedEvent,
} from '@otafleet/protocol';
import { createStreamPair } from '@otafleet/mqtt-client';
import { Aedes } from 'aedes';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { PresenceTracker } from '../src/broker/presence.js';
import { closed, connectTls, endAll, subscribeCodes } from '../src/testing/tls-clients.js';
import { createTestPki, type TestPki } from '../src/testing/test-pki.js';

/**
 * Lifecycle events `$aws/events/presence/(connected|disconnected)/<clientId>` with AWS's payloads, seen by a
 * privileged subscriber over mutual TLS, and the connectivity the broker remembers per client id.
 */
const logger = pino({ level: 'silent' });
const A = 'thing-a';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let pki: TestPki;
let broker: EmbeddedBroker;
let watcher: MqttClient;
const events: { topic: string; event: Record<string, unknown> }[] = [];
const clients: MqttClient[] = [];

const device = async (clientId = A): Promise<MqttClient> => {
  const c = await connectTls({ port: broker.tlsPort ?? 0, clientId, ca: pki.caPem, ...pki.device(A) });
  clients.push(c);
  return c;
};
const eventOn = async <T>(topic: string, after = 0, timeout = 2000): Promise<T> => {
  await expect.poll(() => events.slice(after).some((e) => e.topic === topic), { timeout }).toBe(true);
  return events.slice(after).find((e) => e.topic === topic)?.event as T;
};
const certificateIdOf = (pem: string): string =>
  new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();

beforeAll(async () => {
  pki = await createTestPki([A]);
  broker = await startEmbeddedBroker({ logger, tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
  watcher = await connectTls({ port: broker.tlsPort ?? 0, clientId: 'watcher', ca: pki.caPem, ...pki.service });
  watcher.on('message', (topic, payload) => {
    events.push({ topic, event: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  expect(await subscribeCodes(watcher, PRESENCE_EVENTS_FILTER)).toEqual([1]);
});
afterEach(async () => {
  await endAll(clients.splice(0));
});
afterAll(async () => {
  await watcher.endAsync(true);
  await broker.close();
  await pki.cleanup();
});

describe('presence events', () => {
  it('a connect and a clean disconnect, with AWS payloads sharing session and version', async () => {
    const from = events.length;
    const before = Date.now();
    const a = await device();
    const connected = await eventOn<PresenceConnectedEvent>(presenceConnectedTopic(A), from);
    expect(Value.Check(PresenceConnectedEventSchema, connected)).toBe(true);
    expect(connected).toMatchObject({
      clientId: A,
      eventType: 'connected',
      principalIdentifier: certificateIdOf(pki.device(A).cert),
      ipAddress: '127.0.0.1',
    });
    expect(connected.sessionIdentifier).toMatch(UUID);
    expect(connected.timestamp).toBeGreaterThanOrEqual(before);
    expect(broker.connectivityOf(A)).toEqual({ connected: true, timestamp: connected.timestamp });

    await a.endAsync();
    const gone = await eventOn<PresenceDisconnectedEvent>(presenceDisconnectedTopic(A), from);
    expect(Value.Check(PresenceDisconnectedEventSchema, gone)).toBe(true);
    expect(gone).toMatchObject({
      clientId: A,
      eventType: 'disconnected',
      clientInitiatedDisconnect: true,
      disconnectReason: 'CLIENT_INITIATED_DISCONNECT',
      sessionIdentifier: connected.sessionIdentifier,
      versionNumber: connected.versionNumber,
    });
    expect(broker.connectivityOf(A)).toEqual({
      connected: false,
      timestamp: gone.timestamp,
      disconnectReason: 'CLIENT_INITIATED_DISCONNECT',
    });

    const from2 = events.length;
    await device();
    const again = await eventOn<PresenceConnectedEvent>(presenceConnectedTopic(A), from2);
    expect(again.versionNumber).toBeGreaterThan(connected.versionNumber);
    expect(again.sessionIdentifier).not.toBe(connected.sessionIdentifier);
  });

  it.each([
    [
      'CONNECTION_LOST',
      (c: MqttClient): void => {
        c.stream.destroy();
      },
    ],
    [
      'AUTH_ERROR',
      (c: MqttClient): void => {
        c.publish('$aws/things/someone-else/shadow/update', 'x', { qos: 1 });
      },
    ],
  ] as const)('names the reason %s', async (reason, cause) => {
    const a = await device();
    const from = events.length;
    const wasClosed = closed(a);
    cause(a);
    expect(await wasClosed).toBe(true);
    const gone = await eventOn<PresenceDisconnectedEvent>(presenceDisconnectedTopic(A), from);
    expect(gone).toMatchObject({ disconnectReason: reason, clientInitiatedDisconnect: false });
    expect(broker.connectivityOf(A)).toMatchObject({ connected: false, disconnectReason: reason });
  });

  it('a session taken over by a new connection is DUPLICATE_CLIENTID, and the client id stays connected', async () => {
    const first = await device();
    const from = events.length;
    const wasClosed = closed(first);
    await device();
    expect(await wasClosed).toBe(true);
    const gone = await eventOn<PresenceDisconnectedEvent>(presenceDisconnectedTopic(A), from);
    expect(gone.disconnectReason).toBe('DUPLICATE_CLIENTID');
    await eventOn<PresenceConnectedEvent>(presenceConnectedTopic(A), from);
    expect(broker.connectivityOf(A)?.connected).toBe(true);
  });

  it('an in-memory connection reports its certificate id and no address; a silent one times out', async () => {
    const certificateId = 'ab'.repeat(32);
    const [clientEnd, serverEnd] = createStreamPair();
    broker.connectStream(serverEnd, { principal: { kind: 'thing', thingName: 'sim-1' }, certificateId });
    const from = events.length;
    const sim = new mqtt.MqttClient(() => clientEnd, { clientId: 'sim-1', keepalive: 1, reconnectPeriod: 0 });
    await new Promise<void>((resolve) => sim.once('connect', () => resolve()));
    const connected = await eventOn<PresenceConnectedEvent>(presenceConnectedTopic('sim-1'), from);
    expect(connected.principalIdentifier).toBe(certificateId);
    expect(connected).not.toHaveProperty('ipAddress');
    // from now on nothing the device writes reaches the broker: no PINGREQ within 1.5 keep-alives
    clientEnd.write = (() => true) as typeof clientEnd.write;
    // Nor can the device hang up: under load its own keep-alive (no PINGRESP) could close the stream before the
    // broker's timeout fires, which would be CONNECTION_LOST, a different case.
    clientEnd.end = (() => clientEnd) as typeof clientEnd.end;
    clientEnd.destroy = () => clientEnd;
    sim.on('error', () => undefined); // its own keep-alive gives up too (no PINGRESP): expected here
    const gone = await eventOn<PresenceDisconnectedEvent>(presenceDisconnectedTopic('sim-1'), from, 8000);
    expect(gone.disconnectReason).toBe('MQTT_KEEP_ALIVE_TIMEOUT');
    sim.end(true);
  });

  it('unknown client ids have no connectivity', () => {
    expect(broker.connectivityOf('never-seen')).toBeUndefined();
  });
});

describe('presence when the broker stops', () => {
  it('marks connected clients SERVER_INITIATED_DISCONNECT', async () => {
    const own = await startEmbeddedBroker({ logger });
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: own.port, clientId: 'c1', reconnectPeriod: 0 });
    await expect.poll(() => own.connectivityOf('c1')?.connected).toBe(true);
    await own.close();
    expect(own.connectivityOf('c1')).toMatchObject({
      connected: false,
      disconnectReason: 'SERVER_INITIATED_DISCONNECT',
    });
    c.end(true);
  });
});

describe('connectivity memory', () => {
  it('forgets the longest-gone client ids first, never a connected one', async () => {
    const aedes = await Aedes.createBroker();
    const tracker = new PresenceTracker({ logger, identities: new WeakMap(), maxRemembered: 2 });
    tracker.attach(aedes);
    const connect = async (clientId: string): Promise<MqttClient> => {
      const [clientEnd, serverEnd] = createStreamPair();
      aedes.handle(serverEnd);
      const c = new mqtt.MqttClient(() => clientEnd, { clientId, reconnectPeriod: 0 });
      await new Promise<void>((resolve) => c.once('connect', () => resolve()));
      return c;
    };
    try {
      const a = await connect('a');
      await a.endAsync();
      await expect.poll(() => tracker.connectivityOf('a')?.connected).toBe(false);
      const b = await connect('b');
      await b.endAsync();
      await expect.poll(() => tracker.connectivityOf('b')?.connected).toBe(false);
      const c = await connect('c'); // a, the longest gone, is forgotten
      await expect.poll(() => tracker.connectivityOf('c')?.connected).toBe(true);
      expect(tracker.connectivityOf('a')).toBeUndefined();
      expect(tracker.connectivityOf('b')?.connected).toBe(false);
      const d = await connect('d'); // only connected ones would be left to forget: b goes, c and d stay
      await expect.poll(() => tracker.connectivityOf('d')?.connected).toBe(true);
      expect(tracker.connectivityOf('b')).toBeUndefined();
      expect(tracker.connectivityOf('c')?.connected).toBe(true);
      expect(tracker.connectivityOf('d')?.connected).toBe(true);
      c.end(true);
      d.end(true);
    } finally {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
  });
});

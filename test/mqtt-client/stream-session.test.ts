import { startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import { createStreamPair, mqttJsStreamTransport, type MqttConnection } from '@otafleet/mqtt-client';
import mqtt, { type MqttClient } from 'mqtt';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logger, THING } from './brokers.js';
import { harness, until, type Harness } from './harness.js';

/**
 * Session options on the wire and across drops, over the simulator's transport (in-memory streams into the
 * embedded broker), where a test can cut one client's "network" without touching the broker.
 */
let broker: EmbeddedBroker;
let peer: MqttClient;
const connections: MqttConnection[] = [];
/** Every stream pair made, with the bytes the client wrote. */
const links: { clientEnd: Duplex; wrote: Buffer[] }[] = [];
const transport = mqttJsStreamTransport(() => {
  const [clientEnd, serverEnd] = createStreamPair();
  const link = { clientEnd, wrote: [] as Buffer[] };
  serverEnd.on('data', (chunk: Buffer) => link.wrote.push(chunk));
  links.push(link);
  broker.aedes.handle(serverEnd);
  return clientEnd;
});
const make = (options: Parameters<typeof harness>[1] = {}): Harness =>
  harness(transport, { protocolVersion: 4, ...options }, connections);

beforeAll(async () => {
  broker = await startEmbeddedBroker({ logger });
  peer = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'peer', reconnectPeriod: 0 });
  await new Promise((resolve) => peer.once('connect', resolve));
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  links.length = 0;
});
afterAll(async () => {
  await peer.endAsync(true);
  await broker.close();
});

/** The MQTT control packet types (high nibble of each fixed header) in a byte stream. */
const packetTypes = (bytes: Buffer): number[] => {
  const types: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    types.push((bytes[at] ?? 0) >> 4);
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      at++;
      byte = bytes[at] ?? 0;
      length += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    at += 1 + length;
  }
  return types;
};

const messagesAt = (client: MqttClient, topic: string): string[] => {
  const got: string[] = [];
  client.on('message', (t, payload) => {
    if (t === topic) got.push(payload.toString());
  });
  return got;
};

describe('MQTT connection session options (mqtt.js over in-memory streams, aedes)', () => {
  it('puts client id, keepalive, clean session and the last will into CONNECT', async () => {
    const h = make({ keepaliveSeconds: 45, will: { topic: `dt/${THING}/status`, payload: 'offline', qos: 1 } });
    h.connection.start();
    await h.connection.waitFor('connected');
    const connect = Buffer.concat(links[0]?.wrote ?? []);
    // 3.1.1 CONNECT: type 0x10, remaining length (1 byte here), "\0\4MQTT", level 4, flags, keepalive (2 bytes).
    expect(connect[0]).toBe(0x10);
    expect(connect.subarray(2, 8).toString('latin1')).toBe('\u0000\u0004MQTT');
    expect(connect[8]).toBe(4);
    const flags = connect[9] ?? 0;
    expect(flags & 0x02).toBe(0x02); // clean session
    expect(flags & 0x04).toBe(0x04); // will
    expect((flags >> 3) & 0x03).toBe(1); // will QoS 1
    expect(connect.readUInt16BE(10)).toBe(45);
    expect(connect.includes(Buffer.from(THING))).toBe(true);
  });

  it('the broker publishes the last will when the link drops, not after close()', async () => {
    const status = messagesAt(peer, `dt/${THING}/status`);
    await peer.subscribeAsync(`dt/${THING}/status`, { qos: 1 });
    const h = make({ will: { topic: `dt/${THING}/status`, payload: 'offline' } });
    h.connection.start();
    await h.connection.waitFor('connected');
    links[0]?.clientEnd.destroy(); // the network goes away
    await h.connection.waitFor('backoff');
    await until(() => status.length === 1, 'the last will');
    expect(status).toEqual(['offline']);

    const orderly = make({ clientId: 'thing-b', will: { topic: `dt/${THING}/status`, payload: 'offline-b' } });
    orderly.connection.start();
    await orderly.connection.waitFor('connected');
    await orderly.connection.close(); // DISCONNECT: no will
    await peer.publishAsync(`dt/${THING}/status`, 'sentinel', { qos: 1 });
    await until(() => status.includes('sentinel'), 'the sentinel');
    expect(status).toEqual(['offline', 'sentinel']);
  });

  it('unsubscribe removes one handler, and the filter at the broker once none is left', async () => {
    const h = make();
    h.connection.start();
    await h.connection.waitFor('connected');
    const first: string[] = [];
    const second: string[] = [];
    const sentinel: string[] = [];
    const one = (m: { payload: Buffer }): void => void first.push(m.payload.toString());
    const two = (m: { payload: Buffer }): void => void second.push(m.payload.toString());
    await h.connection.subscribe(`dt/${THING}/u`, one);
    await h.connection.subscribe(`dt/${THING}/u`, two);
    await h.connection.subscribe(`dt/${THING}/sentinel`, (m) => void sentinel.push(m.payload.toString()));
    await h.connection.unsubscribe(`dt/${THING}/u`, one);
    await peer.publishAsync(`dt/${THING}/u`, 'a', { qos: 1 });
    await until(() => second.length === 1, 'the remaining handler');
    expect(first).toEqual([]);
    await h.connection.unsubscribe(`dt/${THING}/u`);
    const topicsAtBroker = (): string[] =>
      Object.keys(
        (broker.aedes as unknown as { clients: Record<string, { subscriptions: Record<string, unknown> }> }).clients[
          THING
        ]?.subscriptions ?? {},
      );
    expect(topicsAtBroker()).toEqual([`dt/${THING}/sentinel`]);
    await peer.publishAsync(`dt/${THING}/u`, 'b', { qos: 1 });
    await peer.publishAsync(`dt/${THING}/sentinel`, 'done', { qos: 1 });
    await until(() => sentinel.length === 1, 'the sentinel');
    expect([first, second]).toEqual([[], ['a']]);
  });

  it('a persistent session resumes: sessionPresent, messages sent while away delivered, nothing resubscribed', async () => {
    const h = make({ cleanSession: false });
    h.connection.start();
    await h.connection.waitFor('connected');
    const got: string[] = [];
    await h.connection.subscribe(`dt/${THING}/p`, (m) => void got.push(m.payload.toString()));
    links[0]?.clientEnd.destroy();
    const away = await h.connection.waitFor('backoff');
    await peer.publishAsync(`dt/${THING}/p`, 'while-away', { qos: 1 });
    const subscribesBefore = links.length;
    h.clock.advance(away.delayMs);
    const back = await h.connection.waitFor('connected');
    expect(back).toMatchObject({ sessionPresent: true, connectionCount: 2 });
    await until(() => got.length === 1, 'the message queued by the broker');
    expect(got).toEqual(['while-away']);
    // No SUBSCRIBE (packet type 8) went out on the new link: the broker kept the subscription.
    const types = packetTypes(Buffer.concat(links[subscribesBefore]?.wrote ?? []));
    expect(types[0]).toBe(1); // CONNECT
    expect(types).not.toContain(8);
  });
});

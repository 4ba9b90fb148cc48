import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAedesBus } from '../src/bus/aedes-bus.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { sleep, subscribeCodes } from '../src/testing/tls-clients.js';
import { tcpClientPool } from '../src/testing/mqtt.js';

/**
 * Shared subscriptions `$share/<group>/<filter>` on the embedded broker, with real mqtt.js clients (MQTT 3.1.1)
 * over real sockets: one member of a group per message, round robin; what a departing member had in flight goes
 * to another member.
 */
const logger = pino({ level: 'silent' });
const FILTER = 'dt/+/health';
const SHARED = `$share/workers/${FILTER}`;

/**
 * Takes every message but sends no PUBACK (a process that dies before its work is durable). Unlike a
 * handleMessage that never calls back, mqtt.js keeps reading the following packets.
 */
const withholdPubacks = (client: MqttClient): void => {
  const internals = client as unknown as { _sendPacket: (packet: { cmd: string }, cb?: () => void) => void };
  const send = internals._sendPacket.bind(client);
  internals._sendPacket = (packet, cb) => (packet.cmd === 'puback' ? cb?.() : send(packet, cb));
};

/** Payloads `0..n-1` as strings, in order. */
const seq = (n: number): string[] => Array.from({ length: n }, (_v, i) => String(i));

describe('shared subscriptions', () => {
  let broker: EmbeddedBroker;
  const pool = tcpClientPool(() => broker.port);
  const connect = pool.connect;
  const received = (client: MqttClient): string[] => {
    const got: string[] = [];
    client.on('message', (_t, payload) => got.push(payload.toString()));
    return got;
  };
  const publishAll = async (publisher: MqttClient, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await publisher.publishAsync(`dt/dev-${i % 7}/health`, String(i), { qos: 1 });
  };

  afterEach(async () => {
    await pool.endAll();
    await broker.close();
  });

  it('hands each message to exactly one member of a group, round robin, and every group gets all', async () => {
    broker = await startEmbeddedBroker({ logger });
    const members = await Promise.all([connect('w1'), connect('w2'), connect('w3')]);
    const got = members.map(received);
    for (const m of members) expect(await subscribeCodes(m, SHARED)).toEqual([1]);
    const other = await connect('other-group');
    const otherGot = received(other);
    expect(await subscribeCodes(other, `$share/audit/${FILTER}`)).toEqual([1]);
    const plain = await connect('plain');
    const plainGot = received(plain);
    expect(await subscribeCodes(plain, FILTER)).toEqual([1]);
    expect(broker.sharedSubscriptions.memberCount(SHARED)).toBe(3);

    const publisher = await connect('publisher');
    const M = 300;
    await publishAll(publisher, M);
    await expect.poll(() => got.flat().length, { timeout: 10_000 }).toBe(M);
    await sleep(100); // nothing more arrives: no message went to two members
    const all = got.flat();
    expect(all).toHaveLength(M);
    expect(new Set(all).size).toBe(M);
    expect([...all].sort((a, b) => Number(a) - Number(b))).toEqual(seq(M));
    for (const g of got) expect(g).toHaveLength(M / 3);
    await expect.poll(() => otherGot.length).toBe(M);
    await expect.poll(() => plainGot.length).toBe(M);
    expect(plainGot).toEqual(seq(M));
  });

  it('delivers what the services publish through the bus to one member too', async () => {
    broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger, broker.subscriptions);
    const [a, b] = await Promise.all([connect('w1'), connect('w2')]);
    const got = [received(a), received(b)];
    for (const m of [a, b]) expect(await subscribeCodes(m, '$share/svc/$aws/events/job/+/completed')).toEqual([1]);
    expect(bus.hasSubscribers?.('$aws/events/job/j1/completed')).toBe(true);
    for (let i = 0; i < 10; i++) await bus.publish(`$aws/events/job/j${i}/completed`, String(i));
    await expect.poll(() => got.flat().length).toBe(10);
    expect(got.map((g) => g.length)).toEqual([5, 5]);
    await bus.close();
  });

  it('a member that disconnects with unacknowledged messages loses none of them to the group', async () => {
    broker = await startEmbeddedBroker({ logger });
    const steady = await connect('steady');
    const steadyGot = received(steady);
    const stalling = await connect('stalling');
    const stallingGot = received(stalling);
    // receives, but never acknowledges (mqtt.js sends the PUBACK when handleMessage calls back)
    stalling.handleMessage = (_packet, _callback) => {};
    for (const m of [steady, stalling]) expect(await subscribeCodes(m, SHARED)).toEqual([1]);

    const publisher = await connect('publisher');
    const M = 100;
    const publishing = publishAll(publisher, M);
    await expect.poll(() => stallingGot.length).toBeGreaterThan(0);
    await sleep(50);
    stalling.stream.destroy(); // the connection dies mid-stream
    await publishing;
    await expect.poll(() => new Set(steadyGot).size, { timeout: 10_000 }).toBe(M);
    expect([...new Set(steadyGot)].sort((a, b) => Number(a) - Number(b))).toEqual(seq(M));
    expect(broker.sharedSubscriptions.memberCount(SHARED)).toBe(1);
  });

  it('keeps the in-flight messages of a group left with no member for the next one to join', async () => {
    broker = await startEmbeddedBroker({ logger });
    const only = await connect('only');
    const onlyGot = received(only);
    only.handleMessage = (_packet, _callback) => {};
    expect(await subscribeCodes(only, SHARED)).toEqual([1]);
    const publisher = await connect('publisher');
    await publishAll(publisher, 5);
    await expect.poll(() => onlyGot.length).toBeGreaterThan(0);
    only.stream.destroy();
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(0);

    const next = await connect('next');
    const nextGot = received(next);
    expect(await subscribeCodes(next, SHARED)).toEqual([1]);
    await expect.poll(() => nextGot.length).toBe(5);
    expect(nextGot).toEqual(seq(5));
  });

  it('a persistent session rejoins its group when it reconnects', async () => {
    broker = await startEmbeddedBroker({ logger });
    const opts = { host: '127.0.0.1', port: broker.port, clientId: 'durable', clean: false, reconnectPeriod: 0 };
    const first = await mqtt.connectAsync(opts);
    expect(await subscribeCodes(first, SHARED)).toEqual([1]);
    await first.endAsync();
    expect(broker.sharedSubscriptions.memberCount(SHARED)).toBe(0);
    const again = await mqtt.connectAsync(opts);
    pool.track(again);
    const got = received(again);
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(1);
    const publisher = await connect('publisher');
    await publishAll(publisher, 4);
    await expect.poll(() => got).toEqual(seq(4));
  });

  it('a persistent member that drops loses nothing: what it held is replayed to it, the rest goes to the group', async () => {
    broker = await startEmbeddedBroker({ logger });
    const steady = await connect('steady');
    const steadyGot = received(steady);
    const opts = { host: '127.0.0.1', port: broker.port, clientId: 'durable', clean: false, reconnectPeriod: 0 };
    const first = await mqtt.connectAsync(opts);
    pool.track(first);
    const firstGot = received(first);
    withholdPubacks(first); // takes its share, acknowledges none of it
    for (const m of [steady, first]) expect(await subscribeCodes(m, SHARED)).toEqual([1]);

    const publisher = await connect('publisher');
    const M = 200;
    const publishing = publishAll(publisher, M);
    await expect.poll(() => firstGot.length).toBeGreaterThan(10);
    first.stream.destroy(); // killed mid-stream, its share unacknowledged
    await publishing; // the rest is published while it is away
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(1);
    const unacked = new Set(firstGot);

    const again = await mqtt.connectAsync(opts);
    pool.track(again);
    const againGot = received(again);
    // Its queue comes back to it (QoS 1 redelivery of the same session), and the group got all the others.
    await expect.poll(() => new Set([...steadyGot, ...againGot]).size, { timeout: 10_000 }).toBe(M);
    for (const m of unacked) expect(againGot.includes(m) || steadyGot.includes(m)).toBe(true);
    expect([...new Set([...steadyGot, ...againGot])].sort((a, b) => Number(a) - Number(b))).toEqual(seq(M));
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(2);
  });

  it('a group whose only member is a persistent session away keeps its messages for that session', async () => {
    broker = await startEmbeddedBroker({ logger });
    const opts = { host: '127.0.0.1', port: broker.port, clientId: 'durable', clean: false, reconnectPeriod: 0 };
    const first = await mqtt.connectAsync(opts);
    pool.track(first);
    const firstGot = received(first);
    withholdPubacks(first);
    expect(await subscribeCodes(first, SHARED)).toEqual([1]);
    const publisher = await connect('publisher');
    await publishAll(publisher, 3);
    await expect.poll(() => firstGot.length).toBe(3);
    first.stream.destroy();
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(0);
    for (let i = 3; i < 8; i++) await publisher.publishAsync(`dt/dev-${i}/health`, String(i), { qos: 1 });

    const again = await mqtt.connectAsync(opts);
    pool.track(again);
    const againGot = received(again);
    await expect.poll(() => [...new Set(againGot)].sort(), { timeout: 10_000 }).toEqual(seq(8));
  });

  it('a persistent member that comes back with a clean session is no longer awaited: the group stops holding', async () => {
    broker = await startEmbeddedBroker({ logger });
    const opts = { host: '127.0.0.1', port: broker.port, clientId: 'durable', reconnectPeriod: 0 };
    const first = await mqtt.connectAsync({ ...opts, clean: false });
    expect(await subscribeCodes(first, SHARED)).toEqual([1]);
    first.stream.destroy();
    await expect.poll(() => broker.sharedSubscriptions.memberCount(SHARED)).toBe(0);
    const publisher = await connect('publisher');
    await publisher.publishAsync('dt/dev-0/health', 'while away', { qos: 1 });
    const fresh = await mqtt.connectAsync({ ...opts, clean: true }); // its session, and its membership, end
    pool.track(fresh);
    await publisher.publishAsync('dt/dev-0/health', 'after', { qos: 1 });
    const next = await connect('next');
    const nextGot = received(next);
    expect(await subscribeCodes(next, SHARED)).toEqual([1]);
    await publisher.publishAsync('dt/dev-0/health', 'joined', { qos: 1 });
    // What was held while it was awaited goes to the next member; nothing published after it ended was kept.
    await expect.poll(() => nextGot).toEqual(['while away', 'joined']);
  });

  it('stops delivering to a member that unsubscribes, and refuses malformed shared filters', async () => {
    broker = await startEmbeddedBroker({ logger });
    const [a, b] = await Promise.all([connect('w1'), connect('w2')]);
    const [aGot, bGot] = [received(a), received(b)];
    for (const m of [a, b]) expect(await subscribeCodes(m, SHARED)).toEqual([1]);
    await a.unsubscribeAsync(SHARED);
    expect(broker.sharedSubscriptions.memberCount(SHARED)).toBe(1);
    const publisher = await connect('publisher');
    await publishAll(publisher, 6);
    await expect.poll(() => bGot.length).toBe(6);
    expect(aGot).toEqual([]);
    // (mqtt.js itself refuses to send ones with misplaced wildcards; the rule table covers those)
    for (const bad of ['$share/', '$share/g', '$share//dt/x']) expect(await subscribeCodes(a, bad)).toEqual([128]);
  });
});

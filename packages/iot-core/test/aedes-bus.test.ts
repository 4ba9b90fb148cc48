import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAedesBus, startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import type { InboundMessage } from '@otafleet/mqtt-client';
import { connectClient, nextMessage } from '../src/testing/mqtt.js';

const logger = pino({ level: 'silent' });

describe('aedes in-process bus', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
  });

  it('hands client publishes to handlers with the client id and replies to one client only', async () => {
    broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const seen: InboundMessage[] = [];
    await bus.subscribe('req/+', (m) => {
      seen.push(m);
    });
    const a = await connectClient(broker.port, 'client-a');
    const b = await connectClient(broker.port, 'client-b');
    await Promise.all([a.subscribeAsync('res/x'), b.subscribeAsync('res/x')]);
    await a.publishAsync('req/x', 'hello', { qos: 1 });
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]?.clientId).toBe('client-a');
    expect(seen[0]?.payload.toString()).toBe('hello');

    const gotByA = nextMessage(a, 'res/x');
    let bGot = false;
    b.on('message', () => (bGot = true));
    await bus.publish('res/x', 'only-a', { onlyToClientId: 'client-a' });
    expect((await gotByA).toString()).toBe('only-a');
    await new Promise((r) => setTimeout(r, 100));
    expect(bGot).toBe(false);

    const gotByB = nextMessage(b, 'res/x');
    await bus.publish('res/x', 'everyone');
    expect((await gotByB).toString()).toBe('everyone');
    await Promise.all([a.endAsync(), b.endAsync()]);
  });
});

describe('aedes bus: string payloads', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
  });

  it('reach a live subscriber and a persistent offline session byte for byte, multi-byte UTF-8 included', async () => {
    broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const topic = '$aws/things/t9/shadow/update/accepted';
    const body = JSON.stringify({ state: { reported: { name: 'Zürich ☀ 東京' } }, version: 3 });

    const live = await connectClient(broker.port, 't8');
    await live.subscribeAsync(topic, { qos: 1 });
    const offline = mqtt.connect({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 't9',
      clean: false,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => offline.once('connect', () => resolve()));
    await offline.subscribeAsync(topic, { qos: 1 });
    await offline.endAsync();

    const liveGot = nextMessage(live, topic);
    await bus.publish(topic, body, { qos: 1 });
    expect((await liveGot).equals(Buffer.from(body, 'utf8'))).toBe(true);

    // The broker queued it for the offline session; it arrives on reconnect.
    const back = mqtt.connect({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 't9',
      clean: false,
      reconnectPeriod: 0,
    });
    const queued = nextMessage(back, topic);
    expect((await queued).toString('utf8')).toBe(body);
    await back.endAsync();
    await live.endAsync();
  });
});

describe('aedes bus: who could receive a topic', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
  });

  it('tracks subscribe, unsubscribe, clean disconnects, persistent sessions and wildcard filters', async () => {
    broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const accepted = '$aws/things/t1/shadow/update/accepted';
    const documents = '$aws/things/t1/shadow/update/documents';
    expect(bus.hasSubscribers?.(accepted)).toBe(false);

    const clean = await connectClient(broker.port, 't1');
    await clean.subscribeAsync('$aws/things/t1/shadow/update/+');
    await expect.poll(() => bus.hasSubscribers?.(accepted)).toBe(true);
    expect(bus.hasSubscribers?.('$aws/things/t2/shadow/update/accepted')).toBe(false);
    await clean.unsubscribeAsync('$aws/things/t1/shadow/update/+');
    await expect.poll(() => bus.hasSubscribers?.(accepted)).toBe(false);
    await clean.subscribeAsync(accepted);
    await expect.poll(() => bus.hasSubscribers?.(accepted)).toBe(true);
    expect(bus.hasSubscribers?.(documents)).toBe(false);
    await clean.endAsync();
    await expect.poll(() => bus.hasSubscribers?.(accepted)).toBe(false);

    // A persistent session keeps its subscriptions (the broker queues QoS 1 for it) after disconnecting.
    const persistent = mqtt.connect({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 't3',
      clean: false,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => persistent.once('connect', () => resolve()));
    await persistent.subscribeAsync('$aws/things/t3/jobs/notify-next', { qos: 1 });
    await persistent.endAsync();
    await new Promise((r) => setTimeout(r, 50));
    expect(bus.hasSubscribers?.('$aws/things/t3/jobs/notify-next')).toBe(true);

    // A privileged wildcard reaches every thing.
    const service = await connectClient(broker.port, 'svc.watcher');
    await service.subscribeAsync('$aws/things/+/shadow/#');
    await expect.poll(() => bus.hasSubscribers?.('$aws/things/any/shadow/update/documents')).toBe(true);
    await service.endAsync();
    await expect.poll(() => bus.hasSubscribers?.('$aws/things/any/shadow/update/documents')).toBe(false);
  });
});

describe('aedes bus: a long queue of publishes', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
  });

  // With aedes' default concurrency (100 publishes in flight), publishes beyond it wait in mqemitter's queue, and
  // each one that completes synchronously (no subscriber, an in-memory stream) starts the next from inside its own
  // completion: the stack grows with the queue. A fleet of thousands of in-memory devices overflowed it.
  it('delivers 30,000 queued publishes behind slow deliveries without overflowing the stack', async () => {
    broker = await startEmbeddedBroker({ logger });
    const slow = await connectClient(broker.port, 'slow-reader');
    await slow.subscribeAsync('slow/x', { qos: 1 });
    const aedes = broker.aedes;
    const publish = (topic: string): Promise<void> =>
      new Promise((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload: 'x', qos: 1, retain: false, dup: false }, (e?: Error) =>
          e ? reject(e) : resolve(),
        ),
      );
    const all: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) all.push(publish('slow/x'));
    for (let i = 0; i < 30_000; i++) all.push(publish('nobody/x'));
    await Promise.all(all);
    await slow.endAsync();
  });
});

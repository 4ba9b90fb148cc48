import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAedesBus,
  startEmbeddedBroker,
  topicMatches,
  type EmbeddedBroker,
  type InboundMessage,
} from '@otafleet/iot-core';
import { connectClient, nextMessage } from './helpers/mqtt.js';

const logger = pino({ level: 'silent' });

describe('topicMatches', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b/c', false],
    ['+/x', '$aws/x', false],
    ['$aws/things/+/shadow/get', '$aws/things/t1/shadow/get', true],
    ['$aws/things/+/shadow/get', '$aws/things/t1/shadow/update', false],
  ])('%s vs %s -> %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('aedes in-process bus', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
  });

  it('hands client publishes to handlers with the client id and replies to one client only', async () => {
    broker = await startEmbeddedBroker();
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

import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageBus } from '@otafleet/mqtt-client';
import { isWellFormedFilter, topicMatches } from '@otafleet/protocol';
import { createAedesBus } from '../src/bus/aedes-bus.js';
import { FilterSet } from '../src/bus/filter-set.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { endAll, sleep } from '../src/testing/tls-clients.js';
import { connectClient } from '../src/testing/mqtt.js';

const logger = pino({ level: 'silent' });

describe('FilterSet', () => {
  it.each([
    ['$aws/things/t1/jobs/notify', '$aws/things/t1/jobs/notify', true],
    ['$aws/things/t1/jobs/+/get/+', '$aws/things/t1/jobs/j9/get/accepted', true],
    ['$aws/things/t1/jobs/+/get/+', '$aws/things/t2/jobs/j9/get/accepted', false],
    ['$aws/things/+/shadow/update', '$aws/things/t7/shadow/update', true],
    ['dt/t1/#', 'dt/t1', true],
    ['#', '$aws/things/t1/jobs/notify', false],
    ['#', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['$aws/#', '$aws/events/job/j/completed', true],
    ['+/+', '$SYS/x', false],
    ['a//+', 'a//b', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    const set = new FilterSet();
    set.add(filter);
    expect(set.matches(topic)).toBe(expected);
  });

  it('agrees with the protocol matcher on random filters and topics', () => {
    const levels = ['a', 'b', '$aws', '', '+', '#'];
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const pick = (wildcards: boolean): string => {
      const n = 1 + rand(4);
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const l = levels[rand(wildcards ? levels.length : 4)] ?? 'a';
        out.push(l === '#' && i !== n - 1 ? '+' : l);
      }
      return out.join('/');
    };
    for (let round = 0; round < 300; round++) {
      const filters = Array.from({ length: 1 + rand(6) }, () => pick(true)).filter(isWellFormedFilter);
      const set = new FilterSet();
      for (const f of filters) set.add(f);
      for (let t = 0; t < 10; t++) {
        const topic = pick(false);
        expect(set.matches(topic), `${JSON.stringify(filters)} vs ${topic}`).toBe(
          filters.some((f) => topicMatches(f, topic)),
        );
      }
    }
  });

  it('counts repeated filters and forgets only after the last removal', () => {
    const set = new FilterSet();
    for (const f of ['x/+', 'x/+', '$aws/things/t/+', 'lit']) set.add(f);
    expect(set.size).toBe(4);
    set.delete('x/+');
    expect(set.matches('x/1')).toBe(true);
    set.delete('x/+');
    set.delete('$aws/things/t/+');
    set.delete('lit');
    set.delete('never-added');
    expect(set.size).toBe(0);
    for (const t of ['x/1', '$aws/things/t/a', 'lit']) expect(set.matches(t)).toBe(false);
  });
});

describe('subscription index of the embedded broker', () => {
  let broker: EmbeddedBroker;
  let bus: MessageBus;
  const clients: MqttClient[] = [];
  const start = async (): Promise<void> => {
    broker = await startEmbeddedBroker({ logger });
    bus = createAedesBus(broker.aedes, logger, broker.subscriptions);
  };
  const receivedBy = (client: MqttClient): string[] => {
    const got: string[] = [];
    client.on('message', (t) => got.push(t));
    return got;
  };
  afterEach(async () => {
    await endAll(clients.splice(0));
    await bus.close();
    await broker.close();
  });

  it('answers one connection holding 800 filters by the filters that could match', async () => {
    await start();
    const c = await connectClient(broker.port, 'gateway');
    clients.push(c);
    const filters = Array.from({ length: 800 }, (_v, i) =>
      i % 2 === 0 ? `$aws/things/t${i}/jobs/+/update/+` : `$aws/things/t${i}/jobs/notify-next`,
    );
    await c.subscribeAsync(filters, { qos: 1 });
    await c.subscribeAsync('$share/g/dt/+/health', { qos: 1 });
    const got = receivedBy(c);
    const send = (topic: string) => bus.publish(topic, 'x', { onlyToClientId: 'gateway' });
    await send('$aws/things/t10/jobs/j1/update/accepted');
    await send('$aws/things/t11/jobs/notify-next');
    await send('dt/d1/health');
    await send('$aws/things/t11/jobs/j1/update/accepted'); // t11 holds only notify-next
    await send('$aws/things/t900/jobs/notify-next');
    await expect.poll(() => got.length).toBe(3);
    await sleep(100);
    expect(got).toEqual([
      '$aws/things/t10/jobs/j1/update/accepted',
      '$aws/things/t11/jobs/notify-next',
      'dt/d1/health',
    ]);
    expect(bus.hasSubscribers?.('dt/d2/health')).toBe(true);

    await c.unsubscribeAsync('$aws/things/t10/jobs/+/update/+');
    await send('$aws/things/t10/jobs/j1/update/accepted');
    await sleep(100);
    expect(got).toHaveLength(3);
    expect(bus.hasSubscribers?.('$aws/things/t10/jobs/j1/update/accepted')).toBe(false);
  });

  it('delivers an answer to its one connection at the lower of its QoS and the QoS that connection subscribed at', async () => {
    await start();
    const c = await connectClient(broker.port, 'answers');
    clients.push(c);
    await c.subscribeAsync('$aws/things/answers/jobs/+/get/+', { qos: 0 });
    await c.subscribeAsync('$aws/things/answers/jobs/notify-next', { qos: 1 });
    const got: { topic: string; qos: number }[] = [];
    c.on('message', (topic, _payload, packet) => got.push({ topic, qos: packet.qos }));
    const to = { onlyToClientId: 'answers' } as const;
    await bus.publish('$aws/things/answers/jobs/$next/get/accepted', 'a', { ...to, qos: 1 });
    await bus.publish('$aws/things/answers/jobs/notify-next', 'n', { ...to, qos: 1 });
    await bus.publish('$aws/things/answers/jobs/notify-next', 'n0', { ...to, qos: 0 });
    // A second, QoS 1 filter matching the same topic: the higher grant wins (MQTT's overlapping subscriptions).
    await c.subscribeAsync('$aws/things/answers/jobs/$next/+/accepted', { qos: 1 });
    await bus.publish('$aws/things/answers/jobs/$next/get/accepted', 'b', { ...to, qos: 1 });
    await expect.poll(() => got.length).toBe(4);
    expect(got).toEqual([
      { topic: '$aws/things/answers/jobs/$next/get/accepted', qos: 0 },
      { topic: '$aws/things/answers/jobs/notify-next', qos: 1 },
      { topic: '$aws/things/answers/jobs/notify-next', qos: 0 },
      { topic: '$aws/things/answers/jobs/$next/get/accepted', qos: 1 },
    ]);
  });

  it("knows a persistent session's restored filters after it reconnects", async () => {
    await start();
    const opts = { host: '127.0.0.1', port: broker.port, clientId: 'durable', clean: false, reconnectPeriod: 0 };
    const first = await mqtt.connectAsync(opts);
    await first.subscribeAsync('$aws/things/durable/jobs/notify', { qos: 1 });
    await first.endAsync();
    expect(bus.hasSubscribers?.('$aws/things/durable/jobs/notify')).toBe(true); // queued for while it is away
    const second = await mqtt.connectAsync(opts);
    clients.push(second);
    const got = receivedBy(second);
    await bus.publish('$aws/things/durable/jobs/notify', 'n', { onlyToClientId: 'durable' });
    // QoS 1 to a persistent session is at least once: aedes may also replay it from the session's queue
    await expect.poll(() => got.length).toBeGreaterThan(0);
    expect(new Set(got)).toEqual(new Set(['$aws/things/durable/jobs/notify']));
  });

  it("drops a clean session's filters when it disconnects", async () => {
    await start();
    const c = await connectClient(broker.port, 'brief');
    await c.subscribeAsync(['$aws/things/brief/shadow/update/delta', '$share/g/x/+'], { qos: 1 });
    expect(bus.hasSubscribers?.('$aws/things/brief/shadow/update/delta')).toBe(true);
    expect(bus.hasSubscribers?.('x/1')).toBe(true);
    await c.endAsync();
    await expect.poll(() => bus.hasSubscribers?.('$aws/things/brief/shadow/update/delta')).toBe(false);
    // The shared group's own subscription goes when the group sees its last member leave.
    await expect.poll(() => bus.hasSubscribers?.('x/1')).toBe(false);
  });
});

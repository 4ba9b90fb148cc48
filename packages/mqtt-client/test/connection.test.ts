import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMqttConnection,
  createStreamPair,
  ManualClock,
  mqttJsStreamTransport,
  type MqttConnection,
} from '@otafleet/mqtt-client';
import type { Duplex } from 'node:stream';

// Broker behaviour is the contract suite's (test/mqtt-client, real brokers); these are the connection's own rules.
const logger = pino({ level: 'silent' });
const open: MqttConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const unreachable = (): { opened: () => number; transport: ReturnType<typeof mqttJsStreamTransport> } => {
  let opened = 0;
  return {
    opened: () => opened,
    transport: mqttJsStreamTransport(() => {
      opened++;
      throw new Error('nothing there');
    }),
  };
};

const until = async (predicate: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
};

describe('createMqttConnection', () => {
  it('refuses options that cannot work with InvalidOptions / InvalidTopic', () => {
    const { transport } = unreachable();
    expect(() => createMqttConnection({ transport, clientId: '' })).toThrow(
      expect.objectContaining({ code: 'InvalidOptions', message: expect.stringContaining('clientId') }),
    );
    expect(() => createMqttConnection({ transport, clientId: 'x', protocolVersion: 3 as unknown as 4 })).toThrow(
      expect.objectContaining({ code: 'InvalidOptions', message: expect.stringContaining('protocolVersion') }),
    );
    expect(() => createMqttConnection({ transport, clientId: 'x', keepaliveSeconds: 1.5 })).toThrow(
      expect.objectContaining({ code: 'InvalidOptions', message: expect.stringContaining('keepaliveSeconds') }),
    );
    expect(() => createMqttConnection({ transport, clientId: 'x', will: { topic: 'a/#', payload: 'gone' } })).toThrow(
      expect.objectContaining({ code: 'InvalidTopic' }),
    );
  });

  it('rejects a malformed topic or filter before anything is sent, and leaves the connection as it was', async () => {
    const { transport, opened } = unreachable();
    const c = createMqttConnection({ transport, clientId: 'x', logger, clock: new ManualClock() });
    open.push(c);
    await expect(c.publish('dt/+/health', 'x')).rejects.toMatchObject({ code: 'InvalidTopic' });
    await expect(c.subscribe('dt/#/x', () => undefined)).rejects.toMatchObject({ code: 'InvalidTopicFilter' });
    await expect(c.subscribe('$share//dt/x', () => undefined)).rejects.toMatchObject({ code: 'InvalidTopicFilter' });
    expect(c.state).toEqual({ kind: 'idle' });
    expect(opened()).toBe(0);
  });

  it('queues publishes while not connected up to maxQueuedPublishes (QueueFull past it); close rejects them Closed', async () => {
    const { transport } = unreachable();
    const c = createMqttConnection({
      transport,
      clientId: 'x',
      logger,
      clock: new ManualClock(),
      maxQueuedPublishes: 2,
    });
    open.push(c);
    const first = c.publish('dt/x/a', '1');
    const second = c.publish('dt/x/a', '2', { qos: 0 });
    await expect(c.publish('dt/x/a', '3')).rejects.toMatchObject({ code: 'QueueFull' });
    const subscribed = c.subscribe('dt/x/#', () => undefined);
    await c.close();
    await expect(first).rejects.toMatchObject({ code: 'Closed' });
    await expect(second).rejects.toMatchObject({ code: 'Closed' });
    await expect(subscribed).rejects.toMatchObject({ code: 'Closed' });
    await expect(c.waitFor('connected')).rejects.toMatchObject({ code: 'Closed' });
    expect(await c.waitFor('closed')).toEqual({ kind: 'closed' });
  });

  it('gives up an attempt the broker never answers after connectTimeoutMs on the clock, and closes that stream', async () => {
    const clock = new ManualClock();
    const servers: Duplex[] = [];
    const transport = mqttJsStreamTransport(() => {
      const [clientEnd, serverEnd] = createStreamPair();
      serverEnd.resume(); // reads the CONNECT, never answers
      servers.push(serverEnd);
      return clientEnd;
    });
    const c = createMqttConnection({
      transport,
      clientId: 'x',
      logger,
      clock,
      connectTimeoutMs: 5000,
      random: () => 0.5,
    });
    open.push(c);
    c.start();
    await until(() => servers.length === 1, 'the first attempt');
    clock.advance(4999);
    expect(c.state).toMatchObject({ kind: 'connecting', attempt: 0 });
    clock.advance(1);
    expect(c.state).toMatchObject({
      kind: 'backoff',
      attempt: 0,
      delayMs: 250,
      reason: { code: 'ConnectFailed', message: expect.stringMatching(/within 5000 ms/) },
    });
    await until(() => servers[0]?.destroyed === true, 'the abandoned stream to close');
    clock.advance(250);
    expect(c.state).toMatchObject({ kind: 'connecting', attempt: 1 });
    await until(() => servers.length === 2, 'the second attempt');
  });

  it('tells every state change to its listeners until they unsubscribe', async () => {
    const { transport } = unreachable();
    const clock = new ManualClock();
    const c = createMqttConnection({ transport, clientId: 'x', logger, clock, random: () => 0 });
    open.push(c);
    const seen: string[] = [];
    const off = c.onStateChange((s, previous) => seen.push(`${previous.kind}→${s.kind}`));
    c.start();
    await c.waitFor('backoff');
    off();
    clock.advance(0);
    await c.waitFor('backoff');
    expect(seen).toEqual(['idle→connecting', 'connecting→backoff']);
  });
});

describe('createStreamPair', () => {
  it('carries bytes both ways and closes both ends when one is destroyed', async () => {
    const [a, b] = createStreamPair();
    const atB: string[] = [];
    const atA: string[] = [];
    b.on('data', (chunk: Buffer) => atB.push(chunk.toString()));
    a.on('data', (chunk: Buffer) => atA.push(chunk.toString()));
    a.write('ping');
    b.write('pong');
    await until(() => atA.length === 1 && atB.length === 1, 'both chunks');
    expect([atA, atB]).toEqual([['pong'], ['ping']]);
    const bClosed = new Promise<void>((resolve) => b.once('close', () => resolve()));
    a.destroy();
    await bClosed;
    expect(b.destroyed).toBe(true);
  });
});

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { sleep, subscribeCodes } from '../src/testing/tls-clients.js';
import { tcpClientPool } from '../src/testing/mqtt.js';

/**
 * Retained messages on the embedded broker, with real mqtt.js clients over real sockets. The broker skips the
 * retained lookup while nothing is retained (retained-lookup.ts): these show the skip never hides a message
 * and that clearing one (an empty retained payload) stops its delivery.
 */
const logger = pino({ level: 'silent' });

describe('retained messages', () => {
  let broker: EmbeddedBroker;
  const pool = tcpClientPool(() => broker.port);
  const connect = pool.connect;
  /** Subscribes a new client to `filter` and gives what it received within a short wait. */
  const retainedFor = async (clientId: string, filter: string): Promise<string[]> => {
    const c = await connect(clientId);
    const got: string[] = [];
    c.on('message', (topic, payload, packet) => got.push(`${topic}=${payload.toString()}${packet.retain ? ' R' : ''}`));
    expect(await subscribeCodes(c, filter)).toEqual([1]);
    await sleep(150);
    return got;
  };

  afterEach(async () => {
    await pool.endAll();
    await broker.close();
  });

  it('delivers nothing on subscribe while none is kept, then each retained message its filters match', async () => {
    broker = await startEmbeddedBroker({ logger });
    expect(await retainedFor('early', 'fw/#')).toEqual([]);
    const publisher = await connect('publisher');
    await publisher.publishAsync('fw/board-a/latest', '1.2.0', { qos: 1, retain: true });
    await publisher.publishAsync('fw/board-b/latest', '2.0.1', { qos: 1, retain: true });
    await publisher.publishAsync('fw/board-a/notes', 'not retained', { qos: 1 });
    expect((await retainedFor('late-all', 'fw/+/latest')).sort()).toEqual([
      'fw/board-a/latest=1.2.0 R',
      'fw/board-b/latest=2.0.1 R',
    ]);
    expect(await retainedFor('late-one', 'fw/board-b/#')).toEqual(['fw/board-b/latest=2.0.1 R']);
  });

  it('an empty retained payload clears the topic; once every one is cleared nothing is delivered', async () => {
    broker = await startEmbeddedBroker({ logger });
    const publisher = await connect('publisher');
    await publisher.publishAsync('fw/board-a/latest', '1.2.0', { qos: 1, retain: true });
    await publisher.publishAsync('fw/board-b/latest', '2.0.1', { qos: 1, retain: true });
    await publisher.publishAsync('fw/board-a/latest', '', { qos: 1, retain: true });
    expect(await retainedFor('after-one-cleared', 'fw/#')).toEqual(['fw/board-b/latest=2.0.1 R']);
    await publisher.publishAsync('fw/board-b/latest', '', { qos: 1, retain: true });
    expect(await retainedFor('after-all-cleared', 'fw/#')).toEqual([]);
    await publisher.publishAsync('fw/board-a/latest', '1.3.0', { qos: 1, retain: true });
    expect(await retainedFor('after-new', 'fw/#')).toEqual(['fw/board-a/latest=1.3.0 R']);
  });
});

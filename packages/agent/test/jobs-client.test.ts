/**
 * The Jobs client's handling of what arrives on its topics, against a real broker: malformed notify-next and
 * answers are ignored (logged), valid ones are delivered; an answer that never comes is a JobsRequestTimeout.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMqttConnection, mqttJsTransport, systemClock, type MqttConnection } from '@otafleet/mqtt-client';
import { startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import { jobsNotifyNextTopic, type MqttJobExecution } from '@otafleet/protocol';
import { JobsClient, JobsRequestTimeout } from '@otafleet/agent';
import { silent } from './e2e-device.js';
import { eventually } from './e2e-helpers.js';

let broker: EmbeddedBroker;
const conns: MqttConnection[] = [];
beforeEach(async () => {
  broker = await startEmbeddedBroker({ logger: silent, requireClientIdIsThingName: false });
});
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close()));
  await broker.close();
});

const connect = (clientId: string): MqttConnection => {
  const c = createMqttConnection({
    transport: mqttJsTransport({ url: `mqtt://127.0.0.1:${broker.port}` }),
    clientId,
    clock: systemClock,
    logger: silent,
  });
  c.start();
  conns.push(c);
  return c;
};

describe('JobsClient', () => {
  it('ignores malformed notify-next payloads and passes valid ones on', async () => {
    const device = connect('pi-1');
    const client = new JobsClient({ connection: device, thingName: 'pi-1', clock: systemClock, logger: silent });
    await client.start();
    const seen: (MqttJobExecution | undefined)[] = [];
    client.onNextChanged((e) => seen.push(e));
    const other = connect('tester');
    await other.waitFor('connected');
    const topic = jobsNotifyNextTopic('pi-1');
    await other.publish(topic, 'not json');
    await other.publish(topic, JSON.stringify({ timestamp: 'yesterday' }));
    await other.publish(topic, JSON.stringify({ timestamp: 1, execution: { jobId: 'j1' } }));
    await other.publish(topic, JSON.stringify({ timestamp: 2 }));
    await eventually(() => (seen.length > 0 ? true : undefined), 'the valid notification');
    expect(seen).toEqual([undefined]);
  });

  it('a request nobody answers ends with JobsRequestTimeout', async () => {
    const device = connect('pi-2');
    const client = new JobsClient({
      connection: device,
      thingName: 'pi-2',
      clock: systemClock,
      logger: silent,
      requestTimeoutMs: 300,
    });
    await client.start();
    await expect(client.startNext()).rejects.toBeInstanceOf(JobsRequestTimeout);
  });
});

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

/** A started Jobs client of `thing` whose requests time out after `timeoutMs` (nothing here answers them). */
async function startedClient(thing: string, timeoutMs: number): Promise<JobsClient> {
  const connection = connect(thing);
  const client = new JobsClient({
    connection,
    thingName: thing,
    clock: systemClock,
    logger: silent,
    requestTimeoutMs: timeoutMs,
  });
  await client.start();
  return client;
}

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
    const client = await startedClient('pi-2', 300);
    await expect(client.startNext()).rejects.toBeInstanceOf(JobsRequestTimeout);
  });

  it('asks a waiting request again, same clientToken, when a new session comes up', async () => {
    const client = await startedClient('pi-4', 30_000);
    const tester = connect('tester');
    await tester.waitFor('connected');
    const tokens: string[] = [];
    const jobs = '$aws/things/pi-4/jobs';
    await tester.subscribe(`${jobs}/$next/get`, (m) => {
      tokens.push((JSON.parse(m.payload.toString()) as { clientToken: string }).clientToken);
    });
    // The QoS each request arrives at the broker with: 0, no PUBACK (the answer says the broker took it).
    const requestQos: number[] = [];
    const events = broker.aedes as unknown as {
      on(e: 'publish', f: (p: { topic: string; qos: number }, c: { id: string } | null) => void): void;
    };
    events.on('publish', (p, c) => {
      if (c?.id === 'pi-4' && p.topic === `${jobs}/$next/get`) requestQos.push(p.qos);
    });
    const answered = client.describeNext();
    await eventually(() => (tokens.length === 1 ? true : undefined), 'the first ask');
    // The broker drops the device's session: a QoS 0 request (or its answer) may be lost with it.
    const aedes = broker.aedes as unknown as { clients: Record<string, { close(): void } | undefined> };
    aedes.clients['pi-4']?.close();
    await eventually(() => (tokens.length === 2 ? true : undefined), 'the ask on the new session', 20_000);
    expect(tokens[1]).toBe(tokens[0]);
    await tester.publish(`${jobs}/$next/get/accepted`, JSON.stringify({ timestamp: 1, clientToken: tokens[0] }));
    // Settled by the answer to either ask, long before the 30 s timeout.
    await expect(answered).resolves.toEqual({ kind: 'accepted', response: undefined });
    expect(tokens).toHaveLength(2);
    expect(requestQos).toEqual([0, 0]);
  });

  it('holds notify-next and the describe answers from start, and the others from their first request', async () => {
    const client = await startedClient('pi-3', 200);
    type Held = Record<string, { readonly qos: number }>;
    const aedes = broker.aedes as unknown as { clients: Record<string, { subscriptions?: Held } | undefined> };
    // Each filter the broker's session holds, with its granted QoS: the answers 0, notify-next 1.
    const held = (): Record<string, number> =>
      Object.fromEntries(Object.entries(aedes.clients['pi-3']?.subscriptions ?? {}).map(([f, s]) => [f, s.qos]));
    const jobs = '$aws/things/pi-3/jobs';
    expect(held()).toEqual({ [`${jobs}/+/get/+`]: 0, [`${jobs}/notify-next`]: 1 });
    await expect(client.startNext()).rejects.toBeInstanceOf(JobsRequestTimeout);
    await expect(client.update('j1', { status: 'IN_PROGRESS' })).rejects.toBeInstanceOf(JobsRequestTimeout);
    expect(held()).toEqual({
      [`${jobs}/+/get/+`]: 0,
      [`${jobs}/+/update/+`]: 0,
      [`${jobs}/notify-next`]: 1,
      [`${jobs}/start-next/+`]: 0,
    });
  });
});

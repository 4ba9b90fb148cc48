import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage, MessageBus } from '@otafleet/mqtt-client';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { createMqttBus, reconnectDelayMs, type MqttBusOptions } from '@otafleet/mqtt-client';
import { connectTls, endAll, sleep } from './helpers/broker-clients.js';
import { createTestPki, type TestPki } from './helpers/broker-pki.js';

const logger = pino({ level: 'silent' });
const A = 'thing-a';

describe('reconnectDelayMs', () => {
  const policy = { initialDelayMs: 500, maxDelayMs: 30_000 };
  it('grows exponentially, stays within [half, full] of the ceiling, and is capped', () => {
    expect(reconnectDelayMs(0, policy, () => 0)).toBe(250);
    expect(reconnectDelayMs(0, policy, () => 1)).toBe(500);
    expect(reconnectDelayMs(3, policy, () => 0)).toBe(2000);
    expect(reconnectDelayMs(3, policy, () => 1)).toBe(4000);
    expect(reconnectDelayMs(20, policy, () => 1)).toBe(30_000);
    expect(reconnectDelayMs(1000, policy, () => 0)).toBe(15_000);
  });
  it('jitters: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.4, 0.9].map((r) => reconnectDelayMs(4, policy, () => r)));
    expect(delays.size).toBe(3);
  });
});

describe('MQTT bus against the embedded broker (mutual TLS, MQTT 3.1.1)', () => {
  let pki: TestPki;
  let broker: EmbeddedBroker;
  let tlsPort: number;
  const buses: MessageBus[] = [];
  const clients: (MqttClient | undefined)[] = [];
  const start = (port = 0): Promise<EmbeddedBroker> =>
    startEmbeddedBroker({ logger, tls: { port, ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
  const busOptions = (over: Partial<MqttBusOptions> = {}): MqttBusOptions => ({
    url: `mqtts://127.0.0.1:${tlsPort}`,
    clientId: 'svc-bus-1',
    tls: { ca: pki.caPem, cert: pki.service.cert, key: pki.service.key },
    logger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    initialConnectTimeoutMs: 3000,
    ...over,
  });
  const device = async (): Promise<MqttClient> => {
    const c = await connectTls({ port: tlsPort, clientId: A, ca: pki.caPem, ...pki.device(A) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = await createTestPki([A]);
    broker = await start();
    tlsPort = broker.tlsPort ?? 0;
  });
  afterEach(async () => {
    await endAll(clients.splice(0));
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await broker.close();
    await pki.cleanup();
  });

  it('falls back to 3.1.1 on aedes and acknowledges a QoS 1 message only after its handler finished', async () => {
    const bus = await createMqttBus(busOptions());
    buses.push(bus);
    expect(bus.protocolVersion).toBe(4);
    let handledAt = 0;
    let ackedAt = 0;
    const onAck = (_packet: unknown, client: { id: string } | null): void => {
      if (client?.id === 'svc-bus-1') ackedAt = performance.now();
    };
    broker.aedes.on('ack', onAck);
    const got: InboundMessage[] = [];
    await bus.subscribe('$aws/things/+/shadow/update', async (m) => {
      await sleep(150);
      got.push(m);
      handledAt = performance.now();
    });
    const a = await device();
    await a.publishAsync(`$aws/things/${A}/shadow/update`, '{"state":{}}', { qos: 1 });
    for (let i = 0; i < 100 && ackedAt === 0; i++) await sleep(10);
    broker.aedes.removeListener('ack', onAck);
    expect(handledAt).toBeGreaterThan(0);
    expect(ackedAt).toBeGreaterThanOrEqual(handledAt); // the bus's PUBACK reached the broker after the handler
    expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual([
      [`$aws/things/${A}/shadow/update`, '{"state":{}}'],
    ]);
    expect(got[0]?.clientId).toBeUndefined();
  });

  it('publishes QoS 1 to a device', async () => {
    const bus = await createMqttBus(busOptions());
    buses.push(bus);
    const a = await device();
    await a.subscribeAsync(`$aws/things/${A}/jobs/notify`, { qos: 1 });
    const received = new Promise<string>((resolve) => a.once('message', (_t, p) => resolve(p.toString())));
    await bus.publish(`$aws/things/${A}/jobs/notify`, '{"jobs":{}}', { onlyToClientId: A });
    expect(await received).toBe('{"jobs":{}}');
  });

  it('reconnects with backoff after the broker restarts and resubscribes its filters', async () => {
    const bus = await createMqttBus(busOptions({ clientId: 'svc-bus-2' }));
    buses.push(bus);
    const got: string[] = [];
    await bus.subscribe(`dt/+/health`, (m) => {
      got.push(m.payload.toString());
    });
    await broker.close();
    await sleep(100);
    broker = await start(tlsPort);
    const a = await device();
    // Retry until the bus is back and resubscribed (bounded).
    for (let i = 0; i < 60 && got.length === 0; i++) {
      await a.publishAsync(`dt/${A}/health`, `ok-${i}`, { qos: 1 });
      await sleep(50);
    }
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]).toMatch(/^ok-/);
  });

  it('a publish made while the broker is down completes once it is back (at least once)', async () => {
    const bus = await createMqttBus(busOptions({ clientId: 'svc-bus-3' }));
    buses.push(bus);
    await broker.close();
    await sleep(50);
    let settled = false;
    const pending = bus.publish(`$aws/things/${A}/jobs/notify`, 'while-down').then(() => {
      settled = true;
    });
    await sleep(150);
    expect(settled).toBe(false);
    broker = await start(tlsPort);
    const seen: string[] = [];
    broker.aedes.on('publish', (packet, client) => {
      if (client?.id === 'svc-bus-3') seen.push(packet.payload.toString());
    });
    await Promise.race([pending, sleep(5000)]);
    expect(settled).toBe(true);
    expect(seen).toContain('while-down');
  });

  it('refuses a subscription the broker does not grant with SubscribeRefused', async () => {
    const bus = await createMqttBus(busOptions({ clientId: A, tls: { ca: pki.caPem, ...pki.device(A) } }));
    buses.push(bus);
    await expect(bus.subscribe('$aws/things/other/shadow/update', () => undefined)).rejects.toMatchObject({
      code: 'SubscribeRefused',
    });
    await bus.subscribe(`$aws/things/${A}/shadow/update/accepted`, () => undefined); // own topic still works
  });

  it('fails at once with NotAuthorized without a client certificate', async () => {
    const started = Date.now();
    await expect(
      createMqttBus({
        url: `mqtts://127.0.0.1:${tlsPort}`,
        clientId: A,
        logger,
        tls: { ca: pki.caPem, cert: '', key: '' },
      }),
    ).rejects.toMatchObject({ code: 'NotAuthorized', message: expect.stringMatching(/certificate required/) });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('cannot connect with a certificate of another CA (node drops it without an alert: ConnectFailed)', async () => {
    await expect(
      createMqttBus(
        busOptions({ clientId: A, tls: { ca: pki.caPem, ...pki.foreignDevice }, initialConnectTimeoutMs: 500 }),
      ),
    ).rejects.toMatchObject({ code: 'ConnectFailed' });
  });

  it('gives up with ConnectFailed when nothing listens', async () => {
    const probe = await startEmbeddedBroker({ logger });
    const deadPort = probe.port;
    await probe.close();
    await expect(
      createMqttBus({
        url: `mqtt://127.0.0.1:${deadPort}`,
        clientId: 'x',
        logger,
        initialConnectTimeoutMs: 400,
        reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
      }),
    ).rejects.toMatchObject({ code: 'ConnectFailed' });
  });
});

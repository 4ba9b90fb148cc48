import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_PREFIX as TELEMETRY_TOPIC_PREFIX } from '@otafleet/protocol';
import { canPublish, canSubscribe } from '../src/broker/topic-authorization.js';
import { BrokerOptionsError, startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import type { Principal } from '../src/identity/principal.js';
import {
  closed,
  collect,
  connectTls,
  endAll,
  sleep,
  subscribeCodes,
  tryConnectTls,
} from '../src/testing/tls-clients.js';
import { createTestPki, type TestPki } from '../src/testing/test-pki.js';

const logger = pino({ level: 'silent' });
const A = 'thing-a';
const B = 'thing-b';
const me: Principal = { kind: 'thing', thingName: A };

describe('topic authorization rules', () => {
  it('uses dt as the telemetry prefix', () => {
    expect(TELEMETRY_TOPIC_PREFIX).toBe('dt');
  });

  it.each([
    [`$aws/things/${A}/shadow/update`, true],
    [`$aws/things/${A}/jobs/job-1/update`, true],
    [`dt/${A}/health`, true],
    [`$aws/things/${B}/shadow/update`, false],
    [`$aws/things/${A}x/shadow/update`, false],
    [`dt/${B}/health`, false],
    ['$aws/things', false],
    ['other/topic', false],
    [`$aws/things/${A}/+`, false],
  ])('device publish %s -> %s', (topic, allowed) => {
    expect(canPublish(me, topic)).toBe(allowed);
  });

  it.each([
    [`$aws/things/${A}/shadow/get/+`, true],
    [`$aws/things/${A}/shadow/name/+/get/+`, true],
    [`$aws/things/${A}/jobs/+/get/+`, true],
    [`$aws/things/${A}/jobs/notify-next`, true],
    [`$aws/things/${A}/#`, true],
    [`dt/${A}/#`, true],
    ['$aws/things/+/shadow/get/+', false],
    ['$aws/things/#', false],
    ['#', false],
    ['+/things/thing-a/shadow/get', false],
    [`dt/+/health`, false],
    [`$aws/things/${B}/shadow/get/+`, false],
    [`$aws/things/${A}/#/x`, false],
    [`$aws/things/${A}/sha+dow`, false],
    // a shared subscription is judged by its filter part
    [`$share/g/$aws/things/${A}/shadow/get`, true],
    [`$share/g/dt/${A}/#`, true],
    [`$share/g/$aws/things/${B}/shadow/get`, false],
    ['$share/g/dt/+/health', false],
    [`$share//dt/${A}/#`, false],
    [`$share/g+/dt/${A}/#`, false],
    ['$share/g', false],
    // the broker's event space is for services only
    ['$aws/events/#', false],
    ['$aws/events/presence/connected/thing-a', false],
    ['$aws/events/job/+/completed', false],
  ])('device subscribe %s -> %s', (filter, allowed) => {
    expect(canSubscribe(me, filter)).toBe(allowed);
  });

  it('a service reaches every topic but still needs well-formed filters', () => {
    const svc: Principal = { kind: 'service', serviceName: 'fleet' };
    expect(canPublish(svc, `$aws/things/${B}/jobs/notify`)).toBe(true);
    expect(canSubscribe(svc, '$aws/things/+/shadow/update')).toBe(true);
    expect(canSubscribe(svc, 'a/#/b')).toBe(false);
    expect(canSubscribe(svc, '$aws/events/#')).toBe(true);
    expect(canSubscribe(svc, '$share/fleet/dt/+/health')).toBe(true);
    expect(canSubscribe(svc, '$share/fleet/a/#/b')).toBe(false);
    expect(canPublish(svc, '$share/fleet/dt/x/health')).toBe(false);
    expect(canPublish(svc, '$SYS/broker/uptime')).toBe(false);
  });
});

describe('embedded broker options', () => {
  it('refuses a configuration with no listener and TLS options that are not PEM', async () => {
    await expect(startEmbeddedBroker({ insecureTcp: false, logger })).rejects.toMatchObject({ code: 'NoListener' });
    await expect(startEmbeddedBroker({ tls: { ca: 'x', cert: 'y', key: 'z' }, logger })).rejects.toBeInstanceOf(
      BrokerOptionsError,
    );
  });

  it('with no options is plain TCP without auth and says so with a WARN', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const broker = await startEmbeddedBroker({ logger: capture });
    try {
      expect(broker.tcpPort).toBe(broker.port);
      expect(broker.tlsPort).toBeUndefined();
      const warn = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
      expect(warn?.msg).toMatch(/INSECURE/);
    } finally {
      await broker.close();
    }
  });
});

describe('embedded broker over mutual TLS', () => {
  let pki: TestPki;
  let broker: EmbeddedBroker;
  const clients: (MqttClient | undefined)[] = [];
  const tls = (clientId: string, cred: { cert: string; key: string }) => ({
    port: broker.tlsPort ?? 0,
    clientId,
    ca: pki.caPem,
    cert: cred.cert,
    key: cred.key,
  });
  const connect = async (clientId: string, cred: { cert: string; key: string }): Promise<MqttClient> => {
    const c = await connectTls(tls(clientId, cred));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = await createTestPki([A, B]);
    broker = await startEmbeddedBroker({
      logger,
      tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key },
    });
  });
  afterEach(async () => {
    await endAll(clients.splice(0));
  });
  afterAll(async () => {
    await broker.close();
    await pki.cleanup();
  });

  it('has only the TLS listener when tls is given', () => {
    expect(broker.tcpPort).toBeUndefined();
    expect(broker.port).toBe(broker.tlsPort);
  });

  it('a device publishes and subscribes its own topics, including the SDK wildcard filters', async () => {
    const a = await connect(A, pki.device(A));
    expect(broker.principalOf(A)).toEqual({ kind: 'thing', thingName: A });
    expect(await subscribeCodes(a, `$aws/things/${A}/shadow/get/+`)).toEqual([1]);
    expect(await subscribeCodes(a, `$aws/things/${A}/jobs/+/get/+`)).toEqual([1]);
    expect(await subscribeCodes(a, `dt/${A}/#`)).toEqual([1]);
    const got = collect(a, `$aws/things/${A}/shadow/get/accepted`);
    const telemetry = collect(a, `dt/${A}/health`);
    await a.publishAsync(`$aws/things/${A}/shadow/get/accepted`, 'x', { qos: 1 });
    await a.publishAsync(`dt/${A}/health`, 'ok', { qos: 1 });
    for (let i = 0; i < 50 && (got.length === 0 || telemetry.length === 0); i++) await sleep(20);
    expect(got.map(String)).toEqual(['x']);
    expect(telemetry.map(String)).toEqual(['ok']);
  });

  it("refuses a device's subscription to another thing's topics (SUBACK 0x80) and keeps it connected", async () => {
    const a = await connect(A, pki.device(A));
    expect(await subscribeCodes(a, `$aws/things/${B}/shadow/update/delta`)).toEqual([128]);
    expect(await subscribeCodes(a, '$aws/things/+/shadow/update/delta')).toEqual([128]);
    expect(await subscribeCodes(a, '#')).toEqual([128]);
    expect(await subscribeCodes(a, `dt/${B}/#`)).toEqual([128]);
    expect(a.connected).toBe(true);

    // and the refused subscription really delivers nothing
    const b = await connect(B, pki.device(B));
    const leaked = collect(a, `$aws/things/${B}/shadow/update/delta`);
    await b.publishAsync(`$aws/things/${B}/shadow/update/delta`, 'secret', { qos: 1 });
    await sleep(200);
    expect(leaked).toEqual([]);
  });

  it("disconnects a device that publishes into another thing's topics, and nothing reaches that thing", async () => {
    const a = await connect(A, pki.device(A));
    const b = await connect(B, pki.device(B));
    expect(await subscribeCodes(b, `$aws/things/${B}/jobs/notify`)).toEqual([1]);
    const got = collect(b, `$aws/things/${B}/jobs/notify`);
    const wasClosed = closed(a);
    a.publish(`$aws/things/${B}/jobs/notify`, 'forged', { qos: 1 });
    expect(await wasClosed).toBe(true);
    await sleep(200);
    expect(got).toEqual([]);
    expect(b.connected).toBe(true);
  });

  it('refuses a device whose client id is not its thing name (CONNACK 2, identifier rejected)', async () => {
    const outcome = await tryConnectTls(tls(B, pki.device(A)));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.returnCode).toBe(2);
  });

  it('refuses a certificate from another CA and a connection without certificate at the TLS handshake', async () => {
    const foreign = await tryConnectTls(tls(A, pki.foreignDevice));
    expect(foreign.ok).toBe(false);
    if (!foreign.ok) expect(foreign.returnCode).toBeUndefined();
    const none = await tryConnectTls({ port: broker.tlsPort ?? 0, clientId: A, ca: pki.caPem });
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.returnCode).toBeUndefined();
    expect(broker.principalOf(A)).toBeUndefined();
  });

  it('a privileged service reaches every thing', async () => {
    const svc = await connect('fleet-service-1', pki.service);
    expect(broker.principalOf('fleet-service-1')).toEqual({ kind: 'service', serviceName: pki.serviceName });
    expect(await subscribeCodes(svc, '$aws/things/+/shadow/update')).toEqual([1]);
    expect(await subscribeCodes(svc, 'dt/#')).toEqual([1]);
    const a = await connect(A, pki.device(A));
    expect(await subscribeCodes(a, `$aws/things/${A}/jobs/notify`)).toEqual([1]);
    const toA = collect(a, `$aws/things/${A}/jobs/notify`);
    const fromA = collect(svc, `$aws/things/${A}/shadow/update`);
    await svc.publishAsync(`$aws/things/${A}/jobs/notify`, 'n', { qos: 1 });
    await a.publishAsync(`$aws/things/${A}/shadow/update`, 'u', { qos: 1 });
    for (let i = 0; i < 50 && (toA.length === 0 || fromA.length === 0); i++) await sleep(20);
    expect(toA.map(String)).toEqual(['n']);
    expect(fromA.map(String)).toEqual(['u']);
  });
});

describe('embedded broker with TLS and the insecure TCP listener', () => {
  it('opens both listeners when asked, plain TCP unrestricted', async () => {
    const pki = await createTestPki([A]);
    const broker = await startEmbeddedBroker({
      logger,
      insecureTcp: true,
      tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key },
    });
    try {
      expect(broker.tcpPort).toBeTypeOf('number');
      expect(broker.tlsPort).toBeTypeOf('number');
      expect(broker.tcpPort).not.toBe(broker.tlsPort);
    } finally {
      await broker.close();
      await pki.cleanup();
    }
  });
});

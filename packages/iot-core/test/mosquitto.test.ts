import type { MqttClient } from 'mqtt';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { renderMosquittoAcl, renderMosquittoConfig } from '../src/mosquitto/mosquitto-config.js';
import { closed, collect, connectTls, endAll, sleep, subscribeCodes, tryConnectTls } from './helpers/broker-clients.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from './helpers/broker-mosquitto.js';
import { createTestPki, type TestPki } from './helpers/broker-pki.js';

const logger = pino({ level: 'silent' });
const A = 'thing-a';
const B = 'thing-b';
const NOT_AUTHORIZED = 0x87;

describe('Mosquitto config generation', () => {
  it('writes a mutual-TLS listener with the certificate CN as user name and client id', () => {
    const conf = renderMosquittoConfig({
      port: 8883,
      cafile: '/ca/ca.pem',
      certfile: '/ca/server/server.pem',
      keyfile: '/ca/server/server.key',
      aclFile: '/etc/acl',
      privilegedServices: ['fleet'],
    }).split('\n');
    for (const line of [
      'listener 8883 127.0.0.1',
      'cafile /ca/ca.pem',
      'require_certificate true',
      'use_identity_as_username true',
      'use_username_as_clientid true',
      'allow_anonymous false',
      'acl_file /etc/acl',
    ])
      expect(conf).toContain(line);
  });

  it('writes per-thing pattern lines and full access for privileged services only', () => {
    const acl = renderMosquittoAcl(['fleet']).split('\n');
    expect(acl).toContain('pattern readwrite $aws/things/%u/#');
    expect(acl).toContain('pattern readwrite dt/%u/#');
    expect(acl.slice(acl.indexOf('user svc.fleet'))).toEqual(
      expect.arrayContaining(['topic readwrite #', 'topic readwrite $aws/#']),
    );
    expect(acl.filter((l) => l.startsWith('topic')).length).toBe(3);
    expect(() => renderMosquittoAcl(['bad name'])).toThrow(expect.objectContaining({ code: 'InvalidServiceName' }));
  });
});

const binary = requireMosquitto();

describe('Mosquitto 2 with the generated config and real certificates', () => {
  let pki: TestPki;
  let mosquitto: MosquittoProcess;
  const clients: (MqttClient | undefined)[] = [];
  const buses: MqttConnection[] = [];
  const connect = async (clientId: string, cred: { cert: string; key: string }): Promise<MqttClient> => {
    const c = await connectTls({ port: mosquitto.port, clientId, ca: pki.caPem, protocolVersion: 5, ...cred });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = await createTestPki([A, B]);
    mosquitto = await startTlsMosquitto(binary, join(pki.dir, 'mosquitto'), {
      cafile: join(pki.dir, 'ca.pem'),
      certfile: pki.server.paths.certPath,
      keyfile: pki.server.paths.keyPath,
      privilegedServices: [pki.serviceName],
    });
  });
  afterEach(async () => {
    await endAll(clients.splice(0));
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await mosquitto?.stop();
    await pki?.cleanup();
  });

  it('device A publishes and subscribes its own topics over MQTT 5', async () => {
    const a = await connect(A, pki.device(A));
    expect(await subscribeCodes(a, `$aws/things/${A}/shadow/get/+`)).toEqual([1]);
    expect(await subscribeCodes(a, `$aws/things/${A}/jobs/+/get/+`)).toEqual([1]);
    const got = collect(a, `$aws/things/${A}/shadow/get/accepted`);
    await a.publishAsync(`$aws/things/${A}/shadow/get/accepted`, 'x', { qos: 1 });
    await a.publishAsync(`dt/${A}/health`, 'ok', { qos: 1 });
    for (let i = 0; i < 50 && got.length === 0; i++) await sleep(20);
    expect(got.map(String)).toEqual(['x']);
  });

  // Mosquitto 2.0 grants every subscription (SUBACK 1) and applies the ACL's read rule to each message
  // it would deliver, so a foreign subscription is inert rather than refused.
  it("delivers B's messages to none of A's subscriptions on B's topics", async () => {
    const a = await connect(A, pki.device(A));
    const b = await connect(B, pki.device(B));
    const filters = [`$aws/things/${B}/shadow/update/delta`, '$aws/things/+/shadow/update/delta', `dt/${B}/#`, '#'];
    for (const filter of filters) await subscribeCodes(a, filter);
    const leaked: string[] = [];
    a.on('message', (t) => leaked.push(t));
    expect(await subscribeCodes(b, `$aws/things/${B}/shadow/update/delta`)).toEqual([1]);
    const own = collect(b, `$aws/things/${B}/shadow/update/delta`);
    await b.publishAsync(`$aws/things/${B}/shadow/update/delta`, 'secret', { qos: 1 });
    await b.publishAsync(`dt/${B}/health`, 'secret', { qos: 1 });
    for (let i = 0; i < 50 && own.length === 0; i++) await sleep(20);
    await sleep(200);
    expect(own.map(String)).toEqual(['secret']); // it was published...
    expect(leaked).toEqual([]); // ...and A saw none of it
  });

  it("does not deliver A's publish into B's topics (PUBACK 0x87)", async () => {
    const a = await connect(A, pki.device(A));
    const b = await connect(B, pki.device(B));
    expect(await subscribeCodes(b, `$aws/things/${B}/jobs/notify`)).toEqual([1]);
    const got = collect(b, `$aws/things/${B}/jobs/notify`);
    const refused = await a.publishAsync(`$aws/things/${B}/jobs/notify`, 'forged', { qos: 1 }).then(
      (packet) => (packet !== undefined && 'reasonCode' in packet ? packet.reasonCode : undefined),
      (e: unknown) => (e as { code?: number }).code,
    );
    expect(refused).toBe(NOT_AUTHORIZED);
    await sleep(200);
    expect(got).toEqual([]);
  });

  it("a device claiming B's client id is still A (its CN) and cannot take over B", async () => {
    const b = await connect(B, pki.device(B));
    const bClosed = closed(b, 500);
    const impostor = await connect(B, pki.device(A)); // cert A, client id B: mosquitto makes the client id thing-a
    expect(await bClosed).toBe(false); // B was not kicked off
    const refused = await impostor.publishAsync(`$aws/things/${B}/shadow/update`, 'x', { qos: 1 }).then(
      (packet) => (packet !== undefined && 'reasonCode' in packet ? packet.reasonCode : undefined),
      (e: unknown) => (e as { code?: number }).code,
    );
    expect(refused).toBe(NOT_AUTHORIZED);
  });

  it('refuses a certificate from another CA and a connection without certificate', async () => {
    const foreign = await tryConnectTls({
      port: mosquitto.port,
      clientId: A,
      ca: pki.caPem,
      protocolVersion: 5,
      ...pki.foreignDevice,
    });
    expect(foreign.ok).toBe(false);
    const none = await tryConnectTls({ port: mosquitto.port, clientId: A, ca: pki.caPem, protocolVersion: 5 });
    expect(none.ok).toBe(false);
  });

  it('a privileged service reaches every thing', async () => {
    const svc = await connect('svc.fleet', pki.service);
    expect(await subscribeCodes(svc, '$aws/things/+/shadow/update')).toEqual([1]);
    const got = collect(svc, `$aws/things/${A}/shadow/update`);
    const a = await connect(A, pki.device(A));
    await a.publishAsync(`$aws/things/${A}/shadow/update`, 'u', { qos: 1 });
    for (let i = 0; i < 50 && got.length === 0; i++) await sleep(20);
    expect(got.map(String)).toEqual(['u']);
  });

  it('the MQTT bus speaks MQTT 5 through Mosquitto, both ways', async () => {
    const bus = await connectMqtt({
      transport: mqttJsTransport({
        url: `mqtts://127.0.0.1:${mosquitto.port}`,
        tls: { ca: pki.caPem, cert: pki.service.cert, key: pki.service.key },
      }),
      clientId: 'svc.fleet',
      logger,
    });
    buses.push(bus);
    expect(bus.protocolVersion).toBe(5);
    const inbound: string[] = [];
    await bus.subscribe('$aws/things/+/shadow/update', (m) => {
      inbound.push(`${m.topic} ${m.payload.toString()}`);
    });
    const a = await connect(A, pki.device(A));
    await a.subscribeAsync(`$aws/things/${A}/shadow/update/accepted`, { qos: 1 });
    const reply = new Promise<string>((resolve) => a.once('message', (_t, p) => resolve(p.toString())));
    await a.publishAsync(`$aws/things/${A}/shadow/update`, '{"state":{}}', { qos: 1 });
    for (let i = 0; i < 50 && inbound.length === 0; i++) await sleep(20);
    expect(inbound).toEqual([`$aws/things/${A}/shadow/update {"state":{}}`]);
    await bus.publish(`$aws/things/${A}/shadow/update/accepted`, '{"version":1}');
    expect(await reply).toBe('{"version":1}');
  });

  it("a device's bus gets PublishRefused for another thing's topic", async () => {
    const bus = await connectMqtt({
      transport: mqttJsTransport({
        url: `mqtts://127.0.0.1:${mosquitto.port}`,
        tls: { ca: pki.caPem, ...pki.device(A) },
      }),
      clientId: A,
      logger,
    });
    buses.push(bus);
    await expect(bus.publish(`$aws/things/${B}/shadow/update`, '{}')).rejects.toMatchObject({ code: 'PublishRefused' });
    await bus.publish(`$aws/things/${A}/shadow/update`, '{}'); // its own topic still works
  });
});

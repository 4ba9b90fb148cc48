import type { MqttClient } from 'mqtt';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { THING_NAMESPACE_ACL_PATTERNS } from '@otafleet/protocol';
import { findDynamicSecurityPlugin } from '../src/mosquitto/dynamic-security-plugin.js';
import {
  DYNSEC_ADMIN_ROLE,
  DYNSEC_COMMAND_TOPIC,
  SERVICE_ROLE,
  renderDynamicSecurityConfig,
  thingRoleName,
} from '../src/mosquitto/dynamic-security.js';
import { renderMosquittoConfig } from '../src/mosquitto/mosquitto-config.js';
import {
  closed,
  collect,
  connectTls,
  endAll,
  sleep,
  subscribeCodes,
  tryConnectTls,
} from '../src/testing/tls-clients.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from '../src/testing/mosquitto.js';
import { createTestPki, type TestPki } from '../src/testing/test-pki.js';

const logger = pino({ level: 'silent' });
const A = 'thing-a';
const B = 'thing-b';
const C = 'thing-c';
const NOT_AUTHORIZED = 0x87;

describe('Mosquitto config generation', () => {
  it('writes a mutual-TLS listener with the certificate CN as user name and client id, and the plugin', () => {
    const conf = renderMosquittoConfig({
      port: 8883,
      cafile: '/ca/ca.pem',
      certfile: '/ca/server/server.pem',
      keyfile: '/ca/server/server.key',
      dynsecPlugin: '/lib/mosquitto_dynamic_security.so',
      dynsecFile: '/etc/dynamic-security.json',
    }).split('\n');
    for (const line of [
      'listener 8883 127.0.0.1',
      'cafile /ca/ca.pem',
      'require_certificate true',
      'use_identity_as_username true',
      'use_username_as_clientid true',
      'allow_anonymous false',
      'plugin /lib/mosquitto_dynamic_security.so',
      'plugin_opt_config_file /etc/dynamic-security.json',
      'set_tcp_nodelay true',
      'max_queued_messages 10000000',
      'max_queued_bytes 0',
    ])
      expect(conf).toContain(line);
    expect(conf.some((l) => l.startsWith('acl_file'))).toBe(false);
  });

  it('gives each thing a role of its own namespaces, services everything, only the admin the control topic', () => {
    const dynsec = renderDynamicSecurityConfig({
      privilegedServices: ['iot-core', 'fleet'],
      adminService: 'iot-core',
      things: [A],
    });
    expect(dynsec.defaultACLAccess).toMatchObject({ subscribe: false, publishClientSend: false });
    const role = dynsec.roles.find((r) => r.rolename === thingRoleName(A));
    const ownTopics = THING_NAMESPACE_ACL_PATTERNS.map((p) => p.replaceAll('%u', A));
    expect(new Set(role?.acls.filter((a) => a.acltype !== 'subscribePattern').map((a) => a.topic))).toEqual(
      new Set(ownTopics),
    );
    expect(new Set(role?.acls.filter((a) => a.acltype === 'subscribePattern').map((a) => a.topic))).toEqual(
      new Set([...ownTopics, ...ownTopics.map((t) => `$share/+/${t}`)]),
    );
    expect(role?.acls.every((a) => a.allow)).toBe(true);
    expect(dynsec.clients).toContainEqual({ username: A, roles: [{ rolename: thingRoleName(A) }] });
    const roles = (user: string): string[] =>
      dynsec.clients.find((c) => c.username === user)?.roles.map((r) => r.rolename) ?? [];
    expect(roles('svc.iot-core')).toEqual([SERVICE_ROLE, DYNSEC_ADMIN_ROLE]);
    expect(roles('svc.fleet')).toEqual([SERVICE_ROLE]);
    const admin = dynsec.roles.find((r) => r.rolename === DYNSEC_ADMIN_ROLE);
    expect(admin?.acls.map((a) => a.topic)).toContain(DYNSEC_COMMAND_TOPIC);
    expect(() => renderDynamicSecurityConfig({ privilegedServices: ['bad name'] })).toThrow(
      expect.objectContaining({ code: 'InvalidServiceName' }),
    );
    expect(() => renderDynamicSecurityConfig({ privilegedServices: [], things: ['no/slash'] })).toThrow(
      expect.objectContaining({ code: 'InvalidThingName' }),
    );
  });

  it('names where to get the dynamic-security plugin when it is missing', () => {
    expect(() => findDynamicSecurityPlugin(['/nonexistent'])).toThrow(
      expect.objectContaining({ code: 'DynamicSecurityPluginNotFound' }),
    );
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
    pki = await createTestPki([A, B, C]);
    mosquitto = await startTlsMosquitto(binary, join(pki.dir, 'mosquitto'), {
      cafile: join(pki.dir, 'ca.pem'),
      certfile: pki.server.paths.certPath,
      keyfile: pki.server.paths.keyPath,
      privilegedServices: [pki.serviceName],
      things: [A, B],
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

  // The dynamic-security plugin checks each SUBSCRIBE against the client's roles: refused as AWS refuses it.
  it("refuses A's subscriptions to B's topics and to every thing (SUBACK 0x87) and delivers none of B's messages", async () => {
    const a = await connect(A, pki.device(A));
    const b = await connect(B, pki.device(B));
    const filters = [`$aws/things/${B}/shadow/update/delta`, '$aws/things/+/shadow/update/delta', `dt/${B}/#`, '#'];
    for (const filter of filters) expect(await subscribeCodes(a, filter)).toEqual([NOT_AUTHORIZED]);
    expect(await subscribeCodes(a, `$aws/things/${A}/#`)).toEqual([1]); // its own namespace still works
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

  it('a device the plugin does not know (no ACTIVE certificate granted) connects but may do nothing', async () => {
    const c = await connect(C, pki.device(C));
    expect(await subscribeCodes(c, `$aws/things/${C}/shadow/get/accepted`)).toEqual([NOT_AUTHORIZED]);
    const refused = await c.publishAsync(`$aws/things/${C}/shadow/get`, '{}', { qos: 1 }).then(
      (packet) => (packet !== undefined && 'reasonCode' in packet ? packet.reasonCode : undefined),
      (e: unknown) => (e as { code?: number }).code,
    );
    expect(refused).toBe(NOT_AUTHORIZED);
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

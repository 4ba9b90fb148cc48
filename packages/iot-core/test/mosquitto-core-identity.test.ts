import { DescribeCertificateCommand, IoTClient, UpdateCertificateCommand } from '@aws-sdk/client-iot';
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import { ensurePki, type CorePki } from '../src/app/pki.js';
import { issueDeviceToDirectory, issueServiceToDirectory } from '../src/identity/ca-store.js';
import { writeCrl } from '../src/identity/crl.js';
import { closed, connectTls, endAll, sleep, subscribeCodes, tryConnectTls } from '../src/testing/tls-clients.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from '../src/testing/mosquitto.js';

/**
 * The local core with Mosquitto 2 as its broker, for what Mosquitto itself must do: revocation through the
 * dynamic-security plugin, QoS 1 under load over TLS, and the core's bus not hearing its own publishes.
 */

const logger = pino({ level: 'silent' });
const NOT_AUTHORIZED = 0x87;
let dir: string;
let pki: CorePki;
let mosquitto: MosquittoProcess | undefined;
let core: LocalCore | undefined;
let iot: IoTClient;
let caPem: string;
const clients: (MqttClient | undefined)[] = [];
const buses: MqttConnection[] = [];
const TEST_SERVICE = 'load-test';
let testService: { cert: string; key: string };

interface Device {
  readonly thingName: string;
  readonly cert: string;
  readonly key: string;
  readonly certificateId: string;
}

const startCore = async (): Promise<LocalCore> => {
  const config = loadConfig(
    ['--data-dir', dir, '--http-port', '0', '--broker-url', `mqtts://127.0.0.1:${mosquitto?.port ?? 0}`],
    { LOG_LEVEL: 'silent' },
  );
  const started = await startLocalCore(config, logger);
  iot = new IoTClient({
    endpoint: started.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
  });
  await started.dynamicSecurity?.settled();
  return started;
};

/** Issues a device certificate and waits until the core has granted the thing in Mosquitto. */
const enrol = async (thingName: string): Promise<Device> => {
  const paths = await issueDeviceToDirectory(pki.dir, thingName);
  const cert = await readFile(paths.certPath, 'utf8');
  core?.certificates.register(cert);
  await core?.dynamicSecurity?.settled();
  const certificateId = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
  return { thingName, cert, key: await readFile(paths.keyPath, 'utf8'), certificateId };
};

const connect = async (device: Device): Promise<MqttClient> => {
  const client = await connectTls({
    port: mosquitto?.port ?? 0,
    clientId: device.thingName,
    ca: caPem,
    cert: device.cert,
    key: device.key,
    protocolVersion: 5,
  });
  clients.push(client);
  return client;
};

const publishCode = (client: MqttClient, topic: string): Promise<number | undefined> =>
  client.publishAsync(topic, '{}', { qos: 1 }).then(
    (packet) => (packet !== undefined && 'reasonCode' in packet ? packet.reasonCode : 0),
    (e: unknown) => (e as { code?: number }).code,
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'core-mosq-identity-'));
  pki = await ensurePki(join(dir, 'pki'), logger);
  caPem = await readFile(pki.caPath, 'utf8');
  const crlfile = await writeCrl(pki.dir, []); // Mosquitto needs the file at start; the core rewrites it
  mosquitto = await startTlsMosquitto(requireMosquitto(), join(dir, 'mosquitto'), {
    crlfile,
    cafile: pki.caPath,
    certfile: pki.server.certPath,
    keyfile: pki.server.keyPath,
    privilegedServices: ['iot-core', TEST_SERVICE],
  });
  const paths = await issueServiceToDirectory(pki.dir, TEST_SERVICE);
  testService = { cert: await readFile(paths.certPath, 'utf8'), key: await readFile(paths.keyPath, 'utf8') };
  core = await startCore();
}, 60_000);

afterAll(async () => {
  await endAll(clients.splice(0));
  await Promise.all(buses.splice(0).map((b) => b.close()));
  iot?.destroy();
  await core?.close();
  await mosquitto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('certificate revocation through Mosquitto', () => {
  it('UpdateCertificate REVOKED disconnects the device at once; afterwards it may do nothing, across restarts', async () => {
    const device = await enrol('mosq-revoke-1');
    const bystander = await enrol('mosq-bystander-1');
    const client = await connect(device);
    const other = await connect(bystander);
    expect(await subscribeCodes(client, `$aws/things/${device.thingName}/shadow/get/accepted`)).toEqual([1]);
    const gone = closed(client, 5000);
    const otherGone = closed(other, 1000);
    await iot.send(new UpdateCertificateCommand({ certificateId: device.certificateId, newStatus: 'REVOKED' }));
    await core?.dynamicSecurity?.settled();
    expect(await gone).toBe(true);
    expect(await otherGone).toBe(false);

    // Mosquitto cannot refuse the TLS handshake of a certificate its CA signed, but the thing has no role left.
    const again = await connect(device);
    expect(await subscribeCodes(again, `$aws/things/${device.thingName}/shadow/get/accepted`)).toEqual([
      NOT_AUTHORIZED,
    ]);
    expect(await publishCode(again, `$aws/things/${device.thingName}/shadow/get`)).toBe(NOT_AUTHORIZED);

    await endAll(clients.splice(0));
    await core?.close();
    core = await startCore(); // reconciles Mosquitto with SQLite again
    const afterRestart = await connect(device);
    expect(await subscribeCodes(afterRestart, `$aws/things/${device.thingName}/shadow/get/accepted`)).toEqual([
      NOT_AUTHORIZED,
    ]);
    const status = await iot.send(new DescribeCertificateCommand({ certificateId: device.certificateId }));
    expect(status.certificateDescription?.status).toBe('REVOKED');
    const stillFine = await connect(bystander);
    expect(await subscribeCodes(stillFine, `$aws/things/${bystander.thingName}/shadow/get/accepted`)).toEqual([1]);

    // The core keeps pki/crl.pem current; once Mosquitto reloads it (SIGHUP), the TLS handshake itself fails.
    await core?.revocationList.settled();
    await endAll(clients.splice(0));
    mosquitto?.child.kill('SIGHUP');
    await sleep(500);
    const handshake = await tryConnectTls({
      port: mosquitto?.port ?? 0,
      clientId: device.thingName,
      ca: caPem,
      cert: device.cert,
      key: device.key,
      protocolVersion: 5,
    });
    expect(handshake.ok).toBe(false);
    expect(handshake.ok ? '' : handshake.error).toContain('certificate revoked');
    expect((await connect(bystander)).connected).toBe(true);
  });

  it('INACTIVE withdraws the thing and ACTIVE grants it again', async () => {
    const device = await enrol('mosq-inactive-1');
    const client = await connect(device);
    const gone = closed(client, 5000);
    await iot.send(new UpdateCertificateCommand({ certificateId: device.certificateId, newStatus: 'INACTIVE' }));
    await core?.dynamicSecurity?.settled();
    expect(await gone).toBe(true);
    await iot.send(new UpdateCertificateCommand({ certificateId: device.certificateId, newStatus: 'ACTIVE' }));
    await core?.dynamicSecurity?.settled();
    const back = await connect(device);
    expect(await subscribeCodes(back, `$aws/things/${device.thingName}/shadow/get/accepted`)).toEqual([1]);
  });
});

describe('QoS 1 under load over TLS', () => {
  // Beyond Mosquitto's default per-client limits (20 in flight + 1,000 queued), which dropped the rest.
  const COUNT = 2500;

  it(`delivers all of ${COUNT} QoS 1 messages in flight at once, service to device and device to service`, async () => {
    const device = await enrol('mosq-load-1');
    const client = await connect(device);
    const toDevice = `$aws/things/${device.thingName}/jobs/notify`;
    const fromDevice = `dt/${device.thingName}/load`;
    expect(await subscribeCodes(client, toDevice)).toEqual([1]);
    const deviceGot = new Set<string>();
    client.on('message', (topic, payload) => {
      if (topic === toDevice) deviceGot.add(payload.toString());
    });
    const bus = await serviceBus(true);
    const serviceGot = new Set<string>();
    await bus.subscribe(`dt/${device.thingName}/#`, (m) => {
      serviceGot.add(m.payload.toString());
    });
    const body = (i: number): string => `${i}:${'x'.repeat(200)}`;
    await Promise.all([
      ...Array.from({ length: COUNT }, (_, i) => bus.publish(toDevice, body(i), { qos: 1 })),
      ...Array.from({ length: COUNT }, (_, i) => client.publishAsync(fromDevice, body(i), { qos: 1 })),
    ]);
    for (let i = 0; i < 600 && (deviceGot.size < COUNT || serviceGot.size < COUNT); i++) await sleep(50);
    expect(deviceGot.size).toBe(COUNT);
    expect(serviceGot.size).toBe(COUNT);
    expect(mosquitto?.log()).not.toContain('Outgoing messages are being dropped');
  }, 90_000);
});

describe("the core's bus and its own publishes", () => {
  it("with noLocal (MQTT 5) its `$aws/things/+/jobs/#` subscription gets devices' requests, not its own answers", async () => {
    const device = await enrol('mosq-nolocal-1');
    const client = await connect(device);
    const heard = async (noLocal: boolean): Promise<string[]> => {
      const bus = await serviceBus(noLocal);
      const got: string[] = [];
      await bus.subscribe('$aws/things/+/jobs/#', (m) => {
        got.push(m.topic);
      });
      await bus.publish(`$aws/things/${device.thingName}/jobs/notify`, '{}', { qos: 1 });
      await client.publishAsync(`$aws/things/${device.thingName}/jobs/get`, '{}', { qos: 1 });
      for (let i = 0; i < 100 && !got.includes(`$aws/things/${device.thingName}/jobs/get`); i++) await sleep(20);
      await sleep(200);
      await bus.close();
      return got.sort();
    };
    // (The core answers the device's get on .../jobs/get/accepted, which the filter matches too.)
    const notify = `$aws/things/${device.thingName}/jobs/notify`;
    const withNoLocal = await heard(true);
    expect(withNoLocal).toContain(`$aws/things/${device.thingName}/jobs/get`);
    expect(withNoLocal).not.toContain(notify);
    // Without it, the broker hands the bus its own notification back (what the core used to receive).
    expect(await heard(false)).toContain(notify);
  });
});

/** A privileged MQTT 5 bus of its own (the core's identity would take the core's session over). */
async function serviceBus(noLocal: boolean): Promise<MqttConnection> {
  const bus = await connectMqtt({
    transport: mqttJsTransport({
      url: `mqtts://127.0.0.1:${mosquitto?.port ?? 0}`,
      noLocal,
      tls: { ca: caPem, cert: testService.cert, key: testService.key },
    }),
    clientId: `svc.${TEST_SERVICE}`,
    logger,
  });
  buses.push(bus);
  return bus;
}

import {
  AddThingToThingGroupCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobExecutionCommand,
  IoTClient,
} from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { iot, iotjobs, iotshadow, mqtt5 } from 'aws-iot-device-sdk-v2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import { ensurePki } from '../src/app/pki.js';
import { issueDeviceToDirectory } from '../src/identity/ca-store.js';
import { openStream, within } from '../src/testing/sdk-streams.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from '../src/testing/mosquitto.js';

/**
 * The local core with Mosquitto 2 as its broker: the Shadow and Jobs services run as a privileged MQTT
 * client of Mosquitto (generated config, mutual TLS, per-thing ACL), and the device uses AWS's own
 * IotJobsClientv2 / IotShadowClientv2 over aws-crt's MQTT 5 client.
 */

const THING = 'mosq-pi-0001';
const logger = pino({ level: 'silent' });
let dir: string;
let mosquitto: MosquittoProcess | undefined;
let core: LocalCore | undefined;
let device: mqtt5.Mqtt5Client | undefined;
let jobs: iotjobs.IotJobsClientv2 | undefined;
let shadow: iotshadow.IotShadowClientv2 | undefined;
let iotClient: IoTClient;
let dataClient: IoTDataPlaneClient;

beforeAll(async () => {
  const binary = requireMosquitto();
  dir = mkdtempSync(join(tmpdir(), 'core-mosq-'));
  const pki = await ensurePki(join(dir, 'pki'), logger);
  mosquitto = await startTlsMosquitto(binary, join(dir, 'mosquitto'), {
    cafile: pki.caPath,
    certfile: pki.server.certPath,
    keyfile: pki.server.keyPath,
    privilegedServices: ['iot-core'],
  });
  const { port } = mosquitto;

  const config = loadConfig(
    ['--data-dir', dir, '--http-port', '0', '--broker-url', `mqtts://127.0.0.1:${port}`, '--log-level', 'silent'],
    {},
  );
  core = await startLocalCore(config, logger);
  const clientConfig = {
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
  };
  iotClient = new IoTClient(clientConfig);
  dataClient = new IoTDataPlaneClient(clientConfig);

  const cred = await issueDeviceToDirectory(pki.dir, THING);
  // The core grants the new device in Mosquitto's dynamic-security plugin; wait until the plugin has answered.
  core.certificates.register(readFileSync(cred.certPath, 'utf8'));
  await core.dynamicSecurity?.settled();
  const mqttConfig = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
    '127.0.0.1',
    cred.certPath,
    cred.keyPath,
  )
    .withPort(port)
    .withCertificateAuthorityFromPath(undefined, cred.caPath)
    .withConnectProperties({ clientId: THING, keepAliveIntervalSeconds: 30 })
    .withSessionBehavior(mqtt5.ClientSessionBehavior.Clean)
    .build();
  device = new mqtt5.Mqtt5Client(mqttConfig);
  const connected = new Promise<void>((resolve, reject) => {
    device?.once('connectionSuccess', () => resolve());
    device?.once('connectionFailure', (e) => reject(new Error(`connection failure: ${String(e.error)}`)));
  });
  device.start();
  await within(connected, 10_000, 'MQTT 5 mTLS connect to Mosquitto');
  const rr = { maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 4, operationTimeoutInSeconds: 10 };
  jobs = iotjobs.IotJobsClientv2.newFromMqtt5(device, rr);
  shadow = iotshadow.IotShadowClientv2.newFromMqtt5(device, rr);
}, 90_000);

afterAll(async () => {
  jobs?.close();
  shadow?.close();
  if (device) {
    const stopped = new Promise<void>((resolve) => device?.once('stopped', () => resolve()));
    device.stop();
    await within(stopped, 5000, 'device stop').catch(() => undefined);
    device.close();
  }
  iotClient?.destroy();
  dataClient?.destroy();
  await core?.close();
  await mosquitto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('local core over Mosquitto 2 (MQTT 5) with AWS device SDK clients', () => {
  it('runs a CONTINUOUS job to SUCCEEDED through IotJobsClientv2 over MQTT 5', async () => {
    if (!jobs) throw new Error('setup failed');
    await iotClient.send(new CreateThingCommand({ thingName: THING }));
    const group = await iotClient.send(new CreateThingGroupCommand({ thingGroupName: 'mosq-wave' }));
    await iotClient.send(
      new CreateJobCommand({
        jobId: 'mosq-ota-1',
        targets: [group.thingGroupArn ?? ''],
        targetSelection: 'CONTINUOUS',
        document: JSON.stringify({ operation: 'ota.install' }),
      }),
    );
    const stream = jobs.createNextJobExecutionChangedStream({ thingName: THING });
    const next: iotjobs.model.NextJobExecutionChangedEvent[] = await openStream(stream, 'notify-next subscription');

    await iotClient.send(new AddThingToThingGroupCommand({ thingGroupName: 'mosq-wave', thingName: THING }));
    await expect.poll(() => next[0]?.execution?.jobId, { timeout: 5000 }).toBe('mosq-ota-1');
    stream.close();

    const started = await jobs.startNextPendingJobExecution({ thingName: THING });
    expect(started.execution?.status).toBe('IN_PROGRESS');
    await expect(
      jobs.updateJobExecution({
        thingName: THING,
        jobId: 'mosq-ota-1',
        status: iotjobs.model.JobStatus.SUCCEEDED,
        expectedVersion: 99,
      }),
    ).rejects.toMatchObject({ modeledError: { code: 'VersionMismatch' } });
    const done = await jobs.updateJobExecution({
      thingName: THING,
      jobId: 'mosq-ota-1',
      status: iotjobs.model.JobStatus.SUCCEEDED,
      expectedVersion: started.execution?.versionNumber ?? -1,
      includeJobExecutionState: true,
    });
    expect(done.executionState?.status).toBe('SUCCEEDED');
    const described = await iotClient.send(new DescribeJobExecutionCommand({ jobId: 'mosq-ota-1', thingName: THING }));
    expect(described.execution?.status).toBe('SUCCEEDED');
  });

  it('updates and reads a named shadow through IotShadowClientv2 over MQTT 5, visible on the data plane', async () => {
    if (!shadow) throw new Error('setup failed');
    const updated = await shadow.updateNamedShadow({
      thingName: THING,
      shadowName: 'ota',
      state: { reported: { fw: '1.0.0' }, desired: { fw: '1.1.0' } },
    });
    expect(updated.version).toBe(1);
    const got = await shadow.getNamedShadow({ thingName: THING, shadowName: 'ota' });
    expect(got.state?.delta).toEqual({ fw: '1.1.0' });
    await expect(shadow.getNamedShadow({ thingName: THING, shadowName: 'missing' })).rejects.toMatchObject({
      modeledError: { code: 404 },
    });
    const http = await dataClient.send(new GetThingShadowCommand({ thingName: THING, shadowName: 'ota' }));
    const doc = JSON.parse(new TextDecoder().decode(http.payload)) as { state: { reported: unknown }; version: number };
    expect(doc).toMatchObject({ state: { reported: { fw: '1.0.0' } }, version: 1 });
  });
});

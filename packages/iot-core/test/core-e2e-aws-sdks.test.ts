import {
  AddThingToThingGroupCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  IoTClient,
} from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient, UpdateThingShadowCommand } from '@aws-sdk/client-iot-data-plane';
import { io, iot, iotjobs, iotshadow, mqtt } from 'aws-iot-device-sdk-v2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import { issueDeviceToDirectory } from '../src/identity/ca-store.js';
import { openStream, within } from '../src/testing/sdk-streams.js';

/**
 * The whole local core as one process would run it, driven only by AWS's own client code: the control plane
 * through @aws-sdk/client-iot (SigV4), the data plane through @aws-sdk/client-iot-data-plane, and the device
 * through aws-iot-device-sdk-v2's IotJobsClientv2 / IotShadowClientv2 over its MQTT 3.1.1 client with mutual TLS.
 */

const THING = 'e2e-pi-0001';
let dir: string;
let core: LocalCore;
let iotClient: IoTClient;
let dataClient: IoTDataPlaneClient;
let connection: mqtt.MqttClientConnection;
let jobs: iotjobs.IotJobsClientv2;
let shadow: iotshadow.IotShadowClientv2;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'core-e2e-'));
  const config = loadConfig(['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0'], {});
  core = await startLocalCore(config, pino({ level: 'silent' }));
  const clientConfig = {
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
  };
  iotClient = new IoTClient(clientConfig);
  dataClient = new IoTDataPlaneClient(clientConfig);

  const device = await issueDeviceToDirectory(core.pki.dir, THING);
  const mqttConfig = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(device.certPath, device.keyPath)
    .with_certificate_authority_from_path(undefined, device.caPath)
    .with_endpoint('127.0.0.1')
    .with_port(core.mqttTlsPort ?? 0)
    .with_client_id(THING)
    .with_clean_session(true)
    .with_socket_options(new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, 5000))
    .build();
  connection = new mqtt.MqttClient().new_connection(mqttConfig);
  await within(connection.connect(), 10_000, 'mTLS connect');
  const rr = { maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 4, operationTimeoutInSeconds: 10 };
  jobs = iotjobs.IotJobsClientv2.newFromMqtt311(connection, rr);
  shadow = iotshadow.IotShadowClientv2.newFromMqtt311(connection, rr);
}, 60_000);

afterAll(async () => {
  jobs?.close();
  shadow?.close();
  await connection?.disconnect();
  iotClient?.destroy();
  dataClient?.destroy();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local IoT core driven by AWS client code end to end', () => {
  it('CONTINUOUS job on a group reaches a thing added later, which starts, updates and succeeds', async () => {
    await iotClient.send(new CreateThingCommand({ thingName: THING }));
    const group = await iotClient.send(new CreateThingGroupCommand({ thingGroupName: 'e2e-canary' }));
    expect(group.thingGroupArn).toBe(`arn:aws:iot:us-east-1:123456789012:thinggroup/e2e-canary`);
    const created = await iotClient.send(
      new CreateJobCommand({
        jobId: 'e2e-ota-1',
        targets: [group.thingGroupArn ?? ''],
        targetSelection: 'CONTINUOUS',
        document: JSON.stringify({ operation: 'ota.install', version: '1.1.0' }),
      }),
    );
    expect(created.jobArn).toBe('arn:aws:iot:us-east-1:123456789012:job/e2e-ota-1');

    const stream = jobs.createNextJobExecutionChangedStream({ thingName: THING });
    const next: iotjobs.model.NextJobExecutionChangedEvent[] = await openStream(stream, 'notify-next subscription');

    // Not a member yet: nothing pending.
    const none = await jobs.getPendingJobExecutions({ thingName: THING });
    expect(none.queuedJobs ?? []).toEqual([]);

    await iotClient.send(new AddThingToThingGroupCommand({ thingGroupName: 'e2e-canary', thingName: THING }));
    await expect.poll(() => next.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(next[0]?.execution?.jobId).toBe('e2e-ota-1');
    expect(next[0]?.execution?.jobDocument).toEqual({ operation: 'ota.install', version: '1.1.0' });
    stream.close();

    const started = await jobs.startNextPendingJobExecution({
      thingName: THING,
      statusDetails: { phase: 'downloading' },
    });
    expect(started.execution?.status).toBe('IN_PROGRESS');
    const version = started.execution?.versionNumber ?? -1;

    // A stale expectedVersion is refused with AWS's code and changes nothing.
    const stale = jobs.updateJobExecution({
      thingName: THING,
      jobId: 'e2e-ota-1',
      status: iotjobs.model.JobStatus.SUCCEEDED,
      expectedVersion: version + 5,
    });
    await expect(stale).rejects.toMatchObject({ modeledError: { code: 'VersionMismatch' } });

    const done = await jobs.updateJobExecution({
      thingName: THING,
      jobId: 'e2e-ota-1',
      status: iotjobs.model.JobStatus.SUCCEEDED,
      expectedVersion: version,
      statusDetails: { phase: 'committed' },
      includeJobExecutionState: true,
    });
    expect(done.executionState?.status).toBe('SUCCEEDED');

    const described = await iotClient.send(new DescribeJobExecutionCommand({ jobId: 'e2e-ota-1', thingName: THING }));
    expect(described.execution?.status).toBe('SUCCEEDED');
    expect(described.execution?.statusDetails?.detailsMap).toEqual({ phase: 'committed' });
    const job = await iotClient.send(new DescribeJobCommand({ jobId: 'e2e-ota-1' }));
    expect(job.job?.jobProcessDetails?.numberOfSucceededThings).toBe(1);

    // Terminal: a second update is refused.
    await expect(
      jobs.updateJobExecution({ thingName: THING, jobId: 'e2e-ota-1', status: iotjobs.model.JobStatus.FAILED }),
    ).rejects.toMatchObject({
      modeledError: { code: expect.stringMatching(/InvalidStateTransition|TerminalStateReached/) },
    });
  });

  it('shadow written by the device is read through the data-plane SDK and vice versa, with delta', async () => {
    const updated = await shadow.updateShadow({ thingName: THING, state: { reported: { fw: '1.0.0', slot: 'A' } } });
    expect(updated.version).toBe(1);

    const got = await dataClient.send(new GetThingShadowCommand({ thingName: THING }));
    const doc = JSON.parse(new TextDecoder().decode(got.payload)) as { state: { reported: unknown }; version: number };
    expect(doc.state.reported).toEqual({ fw: '1.0.0', slot: 'A' });
    expect(doc.version).toBe(1);

    const stream = shadow.createShadowDeltaUpdatedStream({ thingName: THING });
    const deltas: iotshadow.model.ShadowDeltaUpdatedEvent[] = await openStream(stream, 'delta subscription');

    await dataClient.send(
      new UpdateThingShadowCommand({
        thingName: THING,
        payload: Buffer.from(JSON.stringify({ state: { desired: { fw: '1.1.0' } } })),
      }),
    );
    await expect.poll(() => deltas.length, { timeout: 5000 }).toBe(1);
    expect(deltas[0]?.state).toEqual({ fw: '1.1.0' });
    expect(deltas[0]?.version).toBe(2);
    stream.close();

    // Another thing's shadow is out of this device's reach: the broker refuses the subscription, so the
    // SDK's request fails rather than reading it.
    await expect(within(shadow.getShadow({ thingName: 'someone-else' }), 15_000, 'foreign get')).rejects.toBeDefined();
  });
});

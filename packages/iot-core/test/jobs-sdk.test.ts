import { iotjobs, io, mqtt } from 'aws-iot-device-sdk-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { JobsEnv, thingTarget } from '../src/testing/jobs-env.js';

/** Resolves with the first message a subscription delivers (or fails after 5 s). */
function first<T>(subscribe: (handler: (error?: iotjobs.IotJobsError, response?: T) => void) => Promise<unknown>): {
  subscribed: Promise<unknown>;
  message: Promise<T>;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const message = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
  const subscribed = subscribe((error, response) => {
    clearTimeout(timer);
    if (error || response === undefined) reject(new Error(String(error)));
    else resolve(response);
  });
  return { subscribed, message };
}

describe('jobs service with the AWS IoT Device SDK v2 jobs client (aws-crt, MQTT 3.1.1)', () => {
  let env: JobsEnv | undefined;
  let connection: mqtt.MqttClientConnection | undefined;
  afterEach(async () => {
    await connection?.disconnect();
    await env?.close();
  });

  it('notify-next, start-next, update and describe round-trip through the real SDK', async () => {
    env = await JobsEnv.start();
    env.registry.createThing('sdk-dev');
    const client = new mqtt.MqttClient();
    connection = client.new_connection({
      client_id: 'sdk-dev-client',
      host_name: '127.0.0.1',
      port: env.broker.port,
      clean_session: true,
      keep_alive: 30,
      socket_options: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, 3000),
    });
    await connection.connect();
    const jobs = new iotjobs.IotJobsClient(connection);
    const qos = mqtt.QoS.AtLeastOnce;
    const thingName = 'sdk-dev';

    const next = first<iotjobs.model.NextJobExecutionChangedEvent>((h) =>
      jobs.subscribeToNextJobExecutionChangedEvents({ thingName }, qos, h),
    );
    await next.subscribed;
    await env.jobs.createJob({
      jobId: 'sdk-job',
      targets: [thingTarget(thingName)],
      document: '{"url":"https://x/y"}',
    });
    expect((await next.message).execution).toMatchObject({
      jobId: 'sdk-job',
      status: 'QUEUED',
      jobDocument: { url: 'https://x/y' },
    });

    const started = first<iotjobs.model.StartNextJobExecutionResponse>((h) =>
      jobs.subscribeToStartNextPendingJobExecutionAccepted({ thingName }, qos, h),
    );
    await started.subscribed;
    await jobs.publishStartNextPendingJobExecution({ thingName, clientToken: 'sdk-1', stepTimeoutInMinutes: 5 }, qos);
    expect(await started.message).toMatchObject({
      clientToken: 'sdk-1',
      execution: { jobId: 'sdk-job', status: 'IN_PROGRESS' },
    });

    const updated = first<iotjobs.model.UpdateJobExecutionResponse>((h) =>
      jobs.subscribeToUpdateJobExecutionAccepted({ thingName, jobId: 'sdk-job' }, qos, h),
    );
    await updated.subscribed;
    await jobs.publishUpdateJobExecution(
      {
        thingName,
        jobId: 'sdk-job',
        status: iotjobs.model.JobStatus.SUCCEEDED,
        statusDetails: { result: 'ok' },
        expectedVersion: 2,
        includeJobExecutionState: true,
        clientToken: 'sdk-2',
      },
      qos,
    );
    expect(await updated.message).toMatchObject({
      clientToken: 'sdk-2',
      executionState: { status: 'SUCCEEDED', versionNumber: 3 },
    });

    const rejected = first<iotjobs.model.RejectedErrorResponse>((h) =>
      jobs.subscribeToDescribeJobExecutionRejected({ thingName, jobId: 'sdk-job' }, qos, h),
    );
    await rejected.subscribed;
    await jobs.publishDescribeJobExecution({ thingName, jobId: 'sdk-job', clientToken: 'sdk-3' }, qos);
    expect(await rejected.message).toMatchObject({ code: 'TerminalStateReached', clientToken: 'sdk-3' });
    expect(env.jobs.describeJob({ jobId: 'sdk-job' }).job?.status).toBe('COMPLETED');
  });
});

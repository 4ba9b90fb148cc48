import {
  AddThingToThingGroupCommand,
  CancelJobCommand,
  CancelJobExecutionCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DeleteJobCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  ListJobExecutionsForJobCommand,
  ListJobsCommand,
  UpdateJobCommand,
} from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectClient, nextMessage } from '../src/testing/mqtt.js';
import {
  ACCOUNT_ID,
  CREDENTIALS,
  REGION,
  realServices,
  startControlPlane,
  type ControlPlaneFixture,
  failure,
} from '../src/testing/control-plane-fixture.js';
import { signedFetch } from '../src/testing/sigv4-fetch.js';

let cp: ControlPlaneFixture;
const devices: MqttClient[] = [];
beforeEach(async () => {
  cp = await startControlPlane(realServices);
  await cp.iot.send(new CreateThingCommand({ thingName: 'dev-1' }));
  await cp.iot.send(new CreateThingCommand({ thingName: 'dev-2' }));
  await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'fleet' }));
  await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'fleet', thingName: 'dev-2' }));
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.endAsync()));
  await cp.close();
});

const thing = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/${name}`;
const group = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thinggroup/${name}`;
const document = JSON.stringify({ operation: 'ota', version: '2.0.0' });

async function device(thingName: string, topic: string): Promise<MqttClient> {
  const client = await connectClient(cp.brokerPort ?? 0, thingName);
  devices.push(client);
  await client.subscribeAsync(topic, { qos: 1 });
  return client;
}

describe('jobs through @aws-sdk/client-iot against the real Jobs service', () => {
  it('CreateJob answers with the job ARN, notifies the device, and DescribeJob returns dates', async () => {
    const dev1 = await device('dev-1', '$aws/things/dev-1/jobs/notify-next');
    const notified = nextMessage(dev1, '$aws/things/dev-1/jobs/notify-next');
    const before = Date.now();
    const created = await cp.iot.send(
      new CreateJobCommand({ jobId: 'ota-1', targets: [thing('dev-1'), group('fleet')], document, description: 'v2' }),
    );
    expect(created).toMatchObject({
      jobId: 'ota-1',
      jobArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:job/ota-1`,
      description: 'v2',
    });
    const notice = JSON.parse((await notified).toString()) as { execution?: { jobId?: string } };
    expect(notice.execution?.jobId).toBe('ota-1');

    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'ota-1' }));
    expect(job).toMatchObject({
      jobId: 'ota-1',
      status: 'IN_PROGRESS',
      targetSelection: 'SNAPSHOT',
      targets: [thing('dev-1'), group('fleet')],
      jobProcessDetails: { numberOfQueuedThings: 2 },
    });
    expect(job?.createdAt).toBeInstanceOf(Date);
    // Epoch seconds on the wire: a wrong unit would land decades away.
    expect(Math.abs((job?.createdAt?.getTime() ?? 0) - before)).toBeLessThan(60_000);
  });

  it('lists jobs and executions with paging, describes and cancels an execution', async () => {
    await cp.iot.send(new CreateJobCommand({ jobId: 'a', targets: [thing('dev-1'), thing('dev-2')], document }));
    await cp.iot.send(new CreateJobCommand({ jobId: 'b', targets: [thing('dev-1')], document }));
    const page1 = await cp.iot.send(new ListJobsCommand({ maxResults: 1 }));
    expect(page1.jobs).toHaveLength(1);
    const page2 = await cp.iot.send(new ListJobsCommand({ maxResults: 1, nextToken: page1.nextToken }));
    expect([page1.jobs?.[0]?.jobId, page2.jobs?.[0]?.jobId].sort()).toEqual(['a', 'b']);
    expect(page2.jobs?.[0]?.createdAt).toBeInstanceOf(Date);

    const execs = await cp.iot.send(new ListJobExecutionsForJobCommand({ jobId: 'a', maxResults: 1 }));
    expect(execs.executionSummaries).toHaveLength(1);
    expect(execs.nextToken).toBeDefined();
    const rest = await cp.iot.send(new ListJobExecutionsForJobCommand({ jobId: 'a', nextToken: execs.nextToken }));
    const arns = [...(execs.executionSummaries ?? []), ...(rest.executionSummaries ?? [])]
      .map((s) => s.thingArn)
      .sort();
    expect(arns).toEqual([thing('dev-1'), thing('dev-2')]);
    expect(execs.executionSummaries?.[0]?.jobExecutionSummary?.queuedAt).toBeInstanceOf(Date);

    const { execution } = await cp.iot.send(new DescribeJobExecutionCommand({ jobId: 'a', thingName: 'dev-1' }));
    expect(execution).toMatchObject({ jobId: 'a', status: 'QUEUED', thingArn: thing('dev-1'), executionNumber: 1 });
    const version = execution?.versionNumber ?? 0;

    const stale = await failure(
      cp.iot.send(new CancelJobExecutionCommand({ jobId: 'a', thingName: 'dev-1', expectedVersion: version + 5 })),
    );
    expect(stale).toMatchObject({ name: 'VersionConflictException', status: 409 });
    await cp.iot.send(
      new CancelJobExecutionCommand({
        jobId: 'a',
        thingName: 'dev-1',
        expectedVersion: version,
        statusDetails: { why: 'ops' },
      }),
    );
    const after = await cp.iot.send(new DescribeJobExecutionCommand({ jobId: 'a', thingName: 'dev-1' }));
    expect(after.execution?.status).toBe('CANCELED');
    const canceledOnly = await cp.iot.send(new ListJobExecutionsForJobCommand({ jobId: 'a', status: 'CANCELED' }));
    expect(canceledOnly.executionSummaries?.map((s) => s.thingArn)).toEqual([thing('dev-1')]);
  });

  it('updates, cancels and (force-)deletes a job', async () => {
    await cp.iot.send(new CreateJobCommand({ jobId: 'j', targets: [thing('dev-1')], document }));
    await cp.iot.send(
      new UpdateJobCommand({ jobId: 'j', description: 'renamed', timeoutConfig: { inProgressTimeoutInMinutes: 5 } }),
    );
    const updated = await cp.iot.send(new DescribeJobCommand({ jobId: 'j' }));
    expect(updated.job).toMatchObject({ description: 'renamed', timeoutConfig: { inProgressTimeoutInMinutes: 5 } });

    const refused = await failure(cp.iot.send(new DeleteJobCommand({ jobId: 'j' })));
    expect(refused).toMatchObject({ name: 'InvalidStateTransitionException', status: 409 });
    expect((await cp.iot.send(new DescribeJobCommand({ jobId: 'j' }))).job?.status).toBe('IN_PROGRESS');

    const canceled = await cp.iot.send(
      new CancelJobCommand({ jobId: 'j', reasonCode: 'OPS_ABORT', comment: 'bad build' }),
    );
    expect(canceled.jobArn).toBe(`arn:aws:iot:${REGION}:${ACCOUNT_ID}:job/j`);
    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'j' }));
    expect(job).toMatchObject({ status: 'CANCELED', reasonCode: 'OPS_ABORT', comment: 'bad build' });

    await cp.iot.send(new CreateJobCommand({ jobId: 'k', targets: [thing('dev-1')], document }));
    await cp.iot.send(new DeleteJobCommand({ jobId: 'k', force: true }));
    expect(await failure(cp.iot.send(new DescribeJobCommand({ jobId: 'k' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });

  it('gives a CONTINUOUS job an execution for a thing added to its group later', async () => {
    await cp.iot.send(
      new CreateJobCommand({ jobId: 'cont', targets: [group('fleet')], document, targetSelection: 'CONTINUOUS' }),
    );
    const dev1 = await device('dev-1', '$aws/things/dev-1/jobs/notify-next');
    const notified = nextMessage(dev1, '$aws/things/dev-1/jobs/notify-next');
    await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'fleet', thingName: 'dev-1' }));
    const notice = JSON.parse((await notified).toString()) as { execution?: { jobId?: string } };
    expect(notice.execution?.jobId).toBe('cont');
    const { execution } = await cp.iot.send(new DescribeJobExecutionCommand({ jobId: 'cont', thingName: 'dev-1' }));
    expect(execution?.status).toBe('QUEUED');
  });

  it('reports unknown jobs, executions and duplicates by name', async () => {
    expect(await failure(cp.iot.send(new DescribeJobCommand({ jobId: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(
      await failure(cp.iot.send(new DescribeJobExecutionCommand({ jobId: 'nope', thingName: 'dev-1' }))),
    ).toMatchObject({ name: 'ResourceNotFoundException' });
    await cp.iot.send(new CreateJobCommand({ jobId: 'dup', targets: [thing('dev-1')], document }));
    expect(
      await failure(cp.iot.send(new CreateJobCommand({ jobId: 'dup', targets: [thing('dev-2')], document }))),
    ).toMatchObject({ name: 'ResourceAlreadyExistsException', status: 409 });
    expect(await failure(cp.iot.send(new CancelJobCommand({ jobId: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('rejects invalid CreateJob input with InvalidRequestException and creates nothing', async () => {
    const cases: { input: Record<string, unknown>; mentions: string }[] = [
      { input: { targets: [], document }, mentions: '/targets' },
      { input: { targets: [thing('dev-1')], document, targetSelection: 'SOMETIMES' }, mentions: '/targetSelection' },
      {
        input: {
          targets: [thing('dev-1')],
          document,
          abortConfig: {
            criteriaList: [
              { failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 101, minNumberOfExecutedThings: 1 },
            ],
          },
        },
        mentions: 'thresholdPercentage',
      },
      { input: { targets: thing('dev-1'), document }, mentions: '/targets' },
      { input: { targets: [thing('dev-1')], document: { not: 'a string' } }, mentions: '/document' },
      {
        input: { targets: [thing('dev-1')], document, timeoutConfig: { inProgressTimeoutInMinutes: 0 } },
        mentions: 'inProgressTimeoutInMinutes',
      },
    ];
    for (const { input, mentions } of cases) {
      const res = await signedFetch(cp.endpoint, {
        method: 'PUT',
        path: '/jobs/bad-job',
        body: JSON.stringify(input),
        credentials: CREDENTIALS,
      });
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect(res.errorType).toBe('InvalidRequestException');
      expect(JSON.parse(res.body).message).toContain(mentions);
    }
    const badId = await signedFetch(cp.endpoint, {
      method: 'PUT',
      path: '/jobs/bad%20id',
      body: JSON.stringify({ targets: [thing('dev-1')], document }),
      credentials: CREDENTIALS,
    });
    expect(badId.errorType).toBe('InvalidRequestException');
    const badQuery = await signedFetch(cp.endpoint, {
      method: 'GET',
      path: '/jobs',
      query: { status: 'RUNNING' },
      credentials: CREDENTIALS,
    });
    expect(badQuery.errorType).toBe('InvalidRequestException');
    expect((await cp.iot.send(new ListJobsCommand({}))).jobs).toEqual([]);
  });
});

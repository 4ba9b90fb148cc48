import {
  AddThingToThingGroupCommand,
  AssociateTargetsWithJobCommand,
  CreateJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  GetJobDocumentCommand,
  ListJobExecutionsForThingCommand,
} from '@aws-sdk/client-iot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT_ID,
  failure,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';

let cp: ControlPlaneFixture;
beforeEach(async () => {
  cp = await startControlPlane();
  for (const thingName of ['dev-1', 'dev-2', 'dev-3']) await cp.iot.send(new CreateThingCommand({ thingName }));
  await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'fleet' }));
  await cp.iot.send(new CreateThingGroupCommand({ thingGroupName: 'canary' }));
  await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'fleet', thingName: 'dev-1' }));
  await cp.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'canary', thingName: 'dev-2' }));
});
afterEach(async () => {
  await cp.close();
});

const thing = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/${name}`;
const group = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thinggroup/${name}`;
const document = JSON.stringify({ operation: 'ota', url: '${aws:iot:s3-presigned-url:https://bundles.example/a}' });

describe('AssociateTargetsWithJob', () => {
  it('adds a group to a CONTINUOUS job: its things get executions, DescribeJob lists the target', async () => {
    await cp.iot.send(
      new CreateJobCommand({ jobId: 'c', targets: [group('fleet')], document, targetSelection: 'CONTINUOUS' }),
    );
    const r = await cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 'c', targets: [group('canary')] }));
    expect(r).toMatchObject({ jobId: 'c', jobArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:job/c` });
    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'c' }));
    expect(job?.targets).toEqual([group('fleet'), group('canary')]);
    expect(job?.jobProcessDetails?.numberOfQueuedThings).toBe(2);
    const dev2 = await cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-2' }));
    expect(dev2.executionSummaries?.map((s) => s.jobId)).toEqual(['c']);
  });

  it('refuses a SNAPSHOT job, an unknown job or target, and more than 100 targets, changing nothing', async () => {
    await cp.iot.send(new CreateJobCommand({ jobId: 's', targets: [thing('dev-1')], document }));
    expect(
      await failure(cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 's', targets: [thing('dev-2')] }))),
    ).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(
      await failure(cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 'nope', targets: [thing('dev-2')] }))),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });

    await cp.iot.send(
      new CreateJobCommand({ jobId: 'c', targets: [group('fleet')], document, targetSelection: 'CONTINUOUS' }),
    );
    expect(
      await failure(cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 'c', targets: [thing('ghost')] }))),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    const many = Array.from({ length: 100 }, (_, i) => thing(`t${i}`));
    expect(await failure(cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 'c', targets: many })))).toMatchObject(
      { name: 'LimitExceededException', status: 410 },
    );
    expect(await failure(cp.iot.send(new AssociateTargetsWithJobCommand({ jobId: 'c', targets: [] })))).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'c' }));
    expect(job?.targets).toEqual([group('fleet')]);
  });
});

describe('ListJobExecutionsForThing', () => {
  it('lists a thing’s executions oldest first, filters by status and jobId, and pages', async () => {
    for (const jobId of ['j1', 'j2', 'j3'])
      await cp.iot.send(new CreateJobCommand({ jobId, targets: [thing('dev-3')], document }));
    const all = await cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-3' }));
    expect(all.executionSummaries?.map((s) => s.jobId)).toEqual(['j1', 'j2', 'j3']);
    expect(all.executionSummaries?.[0]?.jobExecutionSummary).toMatchObject({ status: 'QUEUED', executionNumber: 1 });
    expect(all.executionSummaries?.[0]?.jobExecutionSummary?.queuedAt).toBeInstanceOf(Date);

    const page1 = await cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-3', maxResults: 2 }));
    expect(page1.executionSummaries?.map((s) => s.jobId)).toEqual(['j1', 'j2']);
    const page2 = await cp.iot.send(
      new ListJobExecutionsForThingCommand({ thingName: 'dev-3', maxResults: 2, nextToken: page1.nextToken }),
    );
    expect(page2.executionSummaries?.map((s) => s.jobId)).toEqual(['j3']);
    expect(page2.nextToken).toBeUndefined();

    const byJob = await cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-3', jobId: 'j2' }));
    expect(byJob.executionSummaries?.map((s) => s.jobId)).toEqual(['j2']);
    const none = await cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-3', status: 'SUCCEEDED' }));
    expect(none.executionSummaries).toEqual([]);
  });

  it('refuses an unknown thing, a bad status, maxResults over 100 and a bad token', async () => {
    expect(await failure(cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'ghost' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect(
      await failure(
        cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-1', status: 'DONE' as 'QUEUED' })),
      ),
    ).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(
      await failure(cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-1', maxResults: 101 }))),
    ).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(
      await failure(cp.iot.send(new ListJobExecutionsForThingCommand({ thingName: 'dev-1', nextToken: '!!' }))),
    ).toMatchObject({ name: 'InvalidRequestException', status: 400 });
  });
});

describe('GetJobDocument', () => {
  it('returns the document with presigned URLs substituted, or as given with beforeSubstitution', async () => {
    await cp.iot.send(new CreateJobCommand({ jobId: 'd', targets: [thing('dev-1')], document }));
    const raw = await cp.iot.send(new GetJobDocumentCommand({ jobId: 'd', beforeSubstitution: true }));
    expect(raw.document).toBe(document);
    const substituted = await cp.iot.send(new GetJobDocumentCommand({ jobId: 'd' }));
    const url = (JSON.parse(substituted.document ?? '{}') as { url: string }).url;
    expect(url.startsWith('https://bundles.example/a?expires=')).toBe(true);
    expect(await failure(cp.iot.send(new GetJobDocumentCommand({ jobId: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });
});

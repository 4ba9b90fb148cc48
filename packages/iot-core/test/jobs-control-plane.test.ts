import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError } from '@otafleet/iot-core';
import { Inbox, JobsEnv, groupTarget, request, thingTarget } from '../src/testing/jobs-env.js';

const T = (thing: string) => `$aws/things/${thing}/jobs`;

async function awsError(
  p: Promise<unknown> | (() => unknown),
): Promise<{ name: string; statusCode: number; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof AwsServiceError) return { name: e.name, statusCode: e.statusCode, message: e.message };
    throw e;
  }
  throw new Error('expected an AwsServiceError');
}

describe('jobs control plane', () => {
  let env: JobsEnv;
  const exec = (jobId: string, thingName: string) => env.jobs.describeJobExecution({ jobId, thingName }).execution;
  beforeEach(async () => {
    env = await JobsEnv.start();
    for (const t of ['c1', 'c2', 'c3']) env.registry.createThing(t);
  });
  afterEach(async () => {
    await env.close();
  });

  it.each([
    ['bad jobId', { jobId: 'bad id', targets: [thingTarget('c1')], document: '{}' }, 'InvalidRequestException', 400],
    ['no targets', { jobId: 'j', targets: [], document: '{}' }, 'InvalidRequestException', 400],
    ['no document', { jobId: 'j', targets: [thingTarget('c1')] }, 'InvalidRequestException', 400],
    [
      'documentSource',
      { jobId: 'j', targets: [thingTarget('c1')], documentSource: 'https://x/y' },
      'InvalidRequestException',
      400,
    ],
    ['document not JSON', { jobId: 'j', targets: [thingTarget('c1')], document: '{' }, 'InvalidRequestException', 400],
    [
      'document an array',
      { jobId: 'j', targets: [thingTarget('c1')], document: '[1]' },
      'InvalidRequestException',
      400,
    ],
    [
      'document too large',
      { jobId: 'j', targets: [thingTarget('c1')], document: JSON.stringify({ a: 'x'.repeat(33_000) }) },
      'InvalidRequestException',
      400,
    ],
    ['malformed target', { jobId: 'j', targets: ['c1'], document: '{}' }, 'InvalidRequestException', 400],
    [
      'foreign account',
      { jobId: 'j', targets: ['arn:aws:iot:us-east-1:999999999999:thing/c1'], document: '{}' },
      'InvalidRequestException',
      400,
    ],
    [
      'unknown thing',
      { jobId: 'j', targets: [thingTarget('ghost')], document: '{}' },
      'ResourceNotFoundException',
      404,
    ],
    [
      'unknown group',
      { jobId: 'j', targets: [groupTarget('ghosts')], document: '{}' },
      'ResourceNotFoundException',
      404,
    ],
    [
      'bad targetSelection',
      { jobId: 'j', targets: [thingTarget('c1')], document: '{}', targetSelection: 'ALWAYS' },
      'InvalidRequestException',
      400,
    ],
    [
      'rate 0',
      { jobId: 'j', targets: [thingTarget('c1')], document: '{}', jobExecutionsRolloutConfig: { maximumPerMinute: 0 } },
      'InvalidRequestException',
      400,
    ],
    [
      'incrementFactor 6',
      {
        jobId: 'j',
        targets: [thingTarget('c1')],
        document: '{}',
        jobExecutionsRolloutConfig: {
          exponentialRate: {
            baseRatePerMinute: 1,
            incrementFactor: 6,
            rateIncreaseCriteria: { numberOfNotifiedThings: 1 },
          },
        },
      },
      'InvalidRequestException',
      400,
    ],
    [
      'threshold 101',
      {
        jobId: 'j',
        targets: [thingTarget('c1')],
        document: '{}',
        abortConfig: {
          criteriaList: [
            { failureType: 'ALL', action: 'CANCEL', thresholdPercentage: 101, minNumberOfExecutedThings: 1 },
          ],
        },
      },
      'InvalidRequestException',
      400,
    ],
    [
      'timeout 10081',
      {
        jobId: 'j',
        targets: [thingTarget('c1')],
        document: '{}',
        timeoutConfig: { inProgressTimeoutInMinutes: 10081 },
      },
      'InvalidRequestException',
      400,
    ],
    [
      '11 retries',
      {
        jobId: 'j',
        targets: [thingTarget('c1')],
        document: '{}',
        jobExecutionsRetryConfig: { criteriaList: [{ failureType: 'ALL', numberOfRetries: 11 }] },
      },
      'InvalidRequestException',
      400,
    ],
    [
      'retry REJECTED',
      {
        jobId: 'j',
        targets: [thingTarget('c1')],
        document: '{}',
        jobExecutionsRetryConfig: { criteriaList: [{ failureType: 'REJECTED', numberOfRetries: 1 }] },
      },
      'InvalidRequestException',
      400,
    ],
    [
      'schedulingConfig',
      { jobId: 'j', targets: [thingTarget('c1')], document: '{}', schedulingConfig: { startTime: '2030-01-01T00:00' } },
      'InvalidRequestException',
      400,
    ],
    [
      'namespaceId',
      { jobId: 'j', targets: [thingTarget('c1')], document: '{}', namespaceId: 'gg' },
      'InvalidRequestException',
      400,
    ],
  ])('CreateJob with %s is rejected', async (_label, input, name, status) => {
    const e = await awsError(env.jobs.createJob(input as never));
    expect(e).toMatchObject({ name, statusCode: status });
    expect(env.jobs.listJobs({}).jobs).toEqual([]);
  });

  it('CreateJob twice -> ResourceAlreadyExistsException', async () => {
    await env.jobs.createJob({ jobId: 'dup', targets: [thingTarget('c1')], document: '{}' });
    expect(
      await awsError(env.jobs.createJob({ jobId: 'dup', targets: [thingTarget('c2')], document: '{}' })),
    ).toMatchObject({
      name: 'ResourceAlreadyExistsException',
      statusCode: 409,
    });
    expect(await awsError(() => env.jobs.describeJobExecution({ jobId: 'dup', thingName: 'c2' }))).toMatchObject({
      statusCode: 404,
    });
  });

  it('unknown jobs are ResourceNotFoundException everywhere', async () => {
    const nf = { name: 'ResourceNotFoundException', statusCode: 404 };
    expect(await awsError(() => env.jobs.describeJob({ jobId: 'nope' }))).toMatchObject(nf);
    expect(await awsError(env.jobs.updateJob({ jobId: 'nope', description: 'x' }))).toMatchObject(nf);
    expect(await awsError(env.jobs.cancelJob({ jobId: 'nope' }))).toMatchObject(nf);
    expect(await awsError(env.jobs.deleteJob({ jobId: 'nope' }))).toMatchObject(nf);
    expect(await awsError(() => env.jobs.listJobExecutionsForJob({ jobId: 'nope' }))).toMatchObject(nf);
    expect(await awsError(() => env.jobs.describeJobExecution({ jobId: 'nope', thingName: 'c1' }))).toMatchObject(nf);
    expect(await awsError(env.jobs.cancelJobExecution({ jobId: 'nope', thingName: 'c1' }))).toMatchObject(nf);
  });

  it('CancelJob cancels QUEUED executions; IN_PROGRESS ones only with force', async () => {
    await env.jobs.createJob({ jobId: 'cj', targets: ['c1', 'c2'].map(thingTarget), document: '{}' });
    const d1 = await env.device('c1');
    const i1 = new Inbox(d1);
    await request(d1, i1, `${T('c1')}/start-next`, {});
    const r = await env.jobs.cancelJob({ jobId: 'cj', reasonCode: 'OPERATOR', comment: 'stop' });
    expect(r.jobId).toBe('cj');
    expect(env.jobs.describeJob({ jobId: 'cj' }).job).toMatchObject({
      status: 'CANCELED',
      forceCanceled: false,
      reasonCode: 'OPERATOR',
      comment: 'stop',
    });
    expect(exec('cj', 'c2')?.status).toBe('CANCELED');
    expect(exec('cj', 'c1')?.status).toBe('IN_PROGRESS');
    // Deleting a canceled job that still has IN_PROGRESS executions needs force.
    expect(await awsError(env.jobs.deleteJob({ jobId: 'cj' }))).toMatchObject({
      name: 'InvalidStateTransitionException',
      statusCode: 409,
    });
    await env.jobs.cancelJob({ jobId: 'cj', force: true });
    expect(exec('cj', 'c1')).toMatchObject({ status: 'CANCELED', forceCanceled: true });
    expect(env.jobs.describeJob({ jobId: 'cj' }).job?.forceCanceled).toBe(true);
    expect(await i1.wait(`${T('c1')}/notify-next`)).toEqual({ timestamp: expect.any(Number) as number });
    const late = await request(d1, i1, `${T('c1')}/cj/update`, { status: 'SUCCEEDED' });
    expect(late.body).toMatchObject({ code: 'InvalidStateTransition', executionState: { status: 'CANCELED' } });
    await env.jobs.deleteJob({ jobId: 'cj' });
    expect(env.jobs.listJobs({}).jobs).toEqual([]);
  });

  it('CancelJob on a COMPLETED job is InvalidRequestException', async () => {
    await env.jobs.createJob({ jobId: 'done', targets: [thingTarget('c1')], document: '{}' });
    const d = await env.device('c1');
    await request(d, new Inbox(d), `${T('c1')}/done/update`, { status: 'SUCCEEDED' });
    expect(await awsError(env.jobs.cancelJob({ jobId: 'done' }))).toMatchObject({
      name: 'InvalidRequestException',
      statusCode: 400,
    });
    expect(env.jobs.describeJob({ jobId: 'done' }).job?.status).toBe('COMPLETED');
  });

  it('DeleteJob of an IN_PROGRESS job needs force, then removes it and notifies devices', async () => {
    await env.jobs.createJob({ jobId: 'dj', targets: [thingTarget('c1')], document: '{}' });
    const d = await env.device('c1');
    const inbox = new Inbox(d);
    expect(await awsError(env.jobs.deleteJob({ jobId: 'dj' }))).toMatchObject({
      name: 'InvalidStateTransitionException',
      statusCode: 409,
    });
    expect(env.jobs.describeJob({ jobId: 'dj' }).job?.status).toBe('IN_PROGRESS');
    const started = await request(d, inbox, `${T('c1')}/dj/update`, { status: 'IN_PROGRESS' });
    expect(started.outcome).toBe('accepted');
    expect(exec('dj', 'c1')).toMatchObject({ status: 'IN_PROGRESS', versionNumber: 2 });
    await env.jobs.deleteJob({ jobId: 'dj', force: true });
    expect(await inbox.wait(`${T('c1')}/notify`)).toMatchObject({ jobs: {} });
    expect(await awsError(() => env.jobs.describeJob({ jobId: 'dj' }))).toMatchObject({ statusCode: 404 });
    const r = await request(d, inbox, `${T('c1')}/get`, {});
    expect(r.body).toMatchObject({ inProgressJobs: [], queuedJobs: [] });
    const gone = await request(d, inbox, `${T('c1')}/dj/get`, {});
    expect(gone.body).toMatchObject({ code: 'ResourceNotFound' });
    // The id is free again, and the new job's execution starts over (nothing of the deleted one remains).
    await env.jobs.createJob({ jobId: 'dj', targets: [thingTarget('c1')], document: '{}' });
    expect(exec('dj', 'c1')).toMatchObject({ status: 'QUEUED', versionNumber: 1, executionNumber: 1 });
    const again = await request(d, inbox, `${T('c1')}/dj/update`, { status: 'IN_PROGRESS', expectedVersion: 1 });
    expect(again.outcome).toBe('accepted');
  });

  it('CancelJobExecution: force for IN_PROGRESS, expectedVersion, terminal', async () => {
    await env.jobs.createJob({ jobId: 'ce', targets: ['c1', 'c2'].map(thingTarget), document: '{}' });
    await env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c2', statusDetails: { why: 'ops' } });
    expect(exec('ce', 'c2')).toMatchObject({
      status: 'CANCELED',
      statusDetails: { detailsMap: { why: 'ops' } },
      versionNumber: 2,
    });
    expect(await awsError(env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c2' }))).toMatchObject({
      name: 'InvalidStateTransitionException',
    });
    const d = await env.device('c1');
    await request(d, new Inbox(d), `${T('c1')}/start-next`, {});
    expect(await awsError(env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c1' }))).toMatchObject({
      name: 'InvalidStateTransitionException',
      statusCode: 409,
    });
    expect(
      await awsError(env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c1', force: true, expectedVersion: 1 })),
    ).toMatchObject({
      name: 'VersionConflictException',
      statusCode: 409,
    });
    expect(exec('ce', 'c1')?.status).toBe('IN_PROGRESS');
    expect(await awsError(env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c3' }))).toMatchObject({
      statusCode: 404,
    });
    await env.jobs.cancelJobExecution({ jobId: 'ce', thingName: 'c1', force: true, expectedVersion: 2 });
    expect(exec('ce', 'c1')).toMatchObject({ status: 'CANCELED', forceCanceled: true });
    expect(env.jobs.describeJob({ jobId: 'ce' }).job?.status).toBe('COMPLETED');
  });

  it('ListJobs and ListJobExecutionsForJob filter and paginate', async () => {
    env.registry.createThingGroup('lg');
    env.registry.addThingToGroup('c3', 'lg');
    for (const id of ['l1', 'l2', 'l3'])
      await env.jobs.createJob({ jobId: id, targets: ['c1', 'c2'].map(thingTarget), document: '{}' });
    await env.jobs.createJob({
      jobId: 'l4',
      targets: [groupTarget('lg')],
      document: '{}',
      targetSelection: 'CONTINUOUS',
    });
    await env.jobs.cancelJob({ jobId: 'l2' });
    const p1 = env.jobs.listJobs({ maxResults: 2 });
    expect(p1.jobs?.map((j) => j.jobId)).toEqual(['l1', 'l2']);
    const p2 = env.jobs.listJobs({ maxResults: 2, nextToken: p1.nextToken });
    expect(p2.jobs?.map((j) => j.jobId)).toEqual(['l3', 'l4']);
    expect(p2.nextToken).toBeUndefined();
    expect(env.jobs.listJobs({ status: 'CANCELED' }).jobs?.map((j) => j.jobId)).toEqual(['l2']);
    expect(env.jobs.listJobs({ targetSelection: 'CONTINUOUS' }).jobs?.map((j) => j.jobId)).toEqual(['l4']);
    expect(env.jobs.listJobs({ thingGroupName: 'lg' }).jobs?.map((j) => j.jobId)).toEqual(['l4']);
    expect(await awsError(() => env.jobs.listJobs({ nextToken: '!!' }))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(await awsError(() => env.jobs.listJobs({ maxResults: 0 }))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(await awsError(() => env.jobs.listJobs({ status: 'RUNNING' as never }))).toMatchObject({
      name: 'InvalidRequestException',
    });

    const e1 = env.jobs.listJobExecutionsForJob({ jobId: 'l1', maxResults: 1 });
    expect(e1.executionSummaries).toHaveLength(1);
    const e2 = env.jobs.listJobExecutionsForJob({ jobId: 'l1', maxResults: 1, nextToken: e1.nextToken });
    expect(e2.executionSummaries?.[0]?.thingArn).not.toBe(e1.executionSummaries?.[0]?.thingArn);
    expect(e2.nextToken).toBeUndefined();
    expect(env.jobs.listJobExecutionsForJob({ jobId: 'l2', status: 'CANCELED' }).executionSummaries).toHaveLength(2);
    expect(env.jobs.listJobExecutionsForJob({ jobId: 'l2', status: 'QUEUED' }).executionSummaries).toHaveLength(0);
  });

  it('UpdateJob changes description and rollout', async () => {
    const things = ['u1', 'u2', 'u3'];
    for (const t of things) env.registry.createThing(t);
    await env.jobs.createJob({
      jobId: 'uj',
      targets: things.map(thingTarget),
      document: '{}',
      jobExecutionsRolloutConfig: { maximumPerMinute: 1 },
    });
    expect(env.jobs.describeJob({ jobId: 'uj' }).job?.jobProcessDetails?.processingTargets).toHaveLength(3);
    await env.jobs.updateJob({
      jobId: 'uj',
      description: 'faster',
      jobExecutionsRolloutConfig: { maximumPerMinute: 3 },
    });
    const job = env.jobs.describeJob({ jobId: 'uj' }).job;
    expect(job).toMatchObject({ description: 'faster', jobExecutionsRolloutConfig: { maximumPerMinute: 3 } });
    expect(job?.jobProcessDetails?.processingTargets).toEqual([]);
    expect(
      await awsError(env.jobs.updateJob({ jobId: 'uj', timeoutConfig: { inProgressTimeoutInMinutes: 0 } })),
    ).toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  it('a thing leaving the group of a CONTINUOUS job gets its pending execution REMOVED', async () => {
    env.registry.createThingGroup('rg');
    env.registry.addThingToGroup('c1', 'rg');
    await env.jobs.createJob({
      jobId: 'rm',
      targets: [groupTarget('rg')],
      document: '{}',
      targetSelection: 'CONTINUOUS',
    });
    const d = await env.device('c1');
    const inbox = new Inbox(d);
    env.registry.removeThingFromGroup('c1', 'rg');
    await expect.poll(() => exec('rm', 'c1')?.status).toBe('REMOVED');
    expect(await inbox.wait(`${T('c1')}/notify`)).toMatchObject({ jobs: {} });
    // Re-adding does not create a second execution.
    env.registry.addThingToGroup('c1', 'rg');
    await new Promise((r) => setTimeout(r, 50));
    expect(env.jobs.listJobExecutionsForJob({ jobId: 'rm' }).executionSummaries).toHaveLength(1);
  });
});

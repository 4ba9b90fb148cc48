import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inbox, JobsEnv, groupTarget, request, thingTarget } from '../src/testing/jobs-env.js';

const T = (thing: string) => `$aws/things/${thing}/jobs`;

describe('jobs service: whole flows over a real broker', () => {
  let env: JobsEnv;
  beforeEach(async () => {
    env = await JobsEnv.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('CONTINUOUS group job reaches a thing added later: notify, start-next, IN_PROGRESS -> SUCCEEDED, describe', async () => {
    env.registry.createThingGroup('fleet');
    env.registry.createThing('dev1');
    const client = await env.device('dev1');
    const inbox = new Inbox(client);

    const created = await env.jobs.createJob({
      jobId: 'ota-1',
      targets: [groupTarget('fleet')],
      document: JSON.stringify({ operation: 'install', version: '1.2.3' }),
      targetSelection: 'CONTINUOUS',
      description: 'firmware 1.2.3',
    });
    expect(created).toEqual({
      jobArn: 'arn:aws:iot:us-east-1:123456789012:job/ota-1',
      jobId: 'ota-1',
      description: 'firmware 1.2.3',
    });
    expect((await request(client, inbox, `${T('dev1')}/get`, {})).body).toMatchObject({
      inProgressJobs: [],
      queuedJobs: [],
    });

    env.registry.addThingToGroup('dev1', 'fleet');
    const notify = await inbox.wait(`${T('dev1')}/notify`);
    expect(notify).toMatchObject({ jobs: { QUEUED: [{ jobId: 'ota-1', executionNumber: 1, versionNumber: 1 }] } });
    const next = await inbox.wait(`${T('dev1')}/notify-next`);
    expect(next).toMatchObject({
      execution: {
        jobId: 'ota-1',
        thingName: 'dev1',
        status: 'QUEUED',
        jobDocument: { operation: 'install', version: '1.2.3' },
      },
    });

    const pending = await request(client, inbox, `${T('dev1')}/get`, { clientToken: 'c0' });
    expect(pending.outcome).toBe('accepted');
    expect(pending.body).toMatchObject({ inProgressJobs: [], queuedJobs: [{ jobId: 'ota-1' }], clientToken: 'c0' });

    const started = await request(client, inbox, `${T('dev1')}/start-next`, {
      clientToken: 'c1',
      statusDetails: { step: 'download' },
    });
    expect(started.outcome).toBe('accepted');
    expect(started.body).toMatchObject({
      clientToken: 'c1',
      execution: {
        jobId: 'ota-1',
        status: 'IN_PROGRESS',
        statusDetails: { step: 'download' },
        versionNumber: 2,
        executionNumber: 1,
        jobDocument: { operation: 'install' },
      },
    });
    expect(typeof started.body['timestamp']).toBe('number');

    const upd = await request(client, inbox, `${T('dev1')}/ota-1/update`, {
      status: 'SUCCEEDED',
      statusDetails: { step: 'done' },
      expectedVersion: 2,
      includeJobExecutionState: true,
      includeJobDocument: true,
      clientToken: 'c2',
    });
    expect(upd.outcome).toBe('accepted');
    expect(upd.body).toMatchObject({
      executionState: { status: 'SUCCEEDED', statusDetails: { step: 'done' }, versionNumber: 3 },
      jobDocument: { version: '1.2.3' },
      clientToken: 'c2',
    });
    // The pending list emptied: notify {} and notify-next without execution.
    expect(await inbox.wait(`${T('dev1')}/notify`, 2)).toMatchObject({ jobs: {} });
    expect((await inbox.wait(`${T('dev1')}/notify-next`, 2))['execution']).toBeUndefined();

    const described = env.jobs.describeJobExecution({ jobId: 'ota-1', thingName: 'dev1' });
    expect(described.execution).toMatchObject({
      jobId: 'ota-1',
      status: 'SUCCEEDED',
      versionNumber: 3,
      executionNumber: 1,
      statusDetails: { detailsMap: { step: 'done' } },
      thingArn: thingTarget('dev1'),
    });
    const job = env.jobs.describeJob({ jobId: 'ota-1' }).job;
    expect(job?.status).toBe('IN_PROGRESS'); // CONTINUOUS jobs never complete
    expect(job?.jobProcessDetails).toMatchObject({ numberOfSucceededThings: 1, numberOfQueuedThings: 0 });
  });

  it('SNAPSHOT job completes when every execution is terminal; describe $next and by id', async () => {
    env.registry.createThing('a');
    env.registry.createThing('b');
    const ca = await env.device('a');
    const ia = new Inbox(ca);
    await env.jobs.createJob({ jobId: 'j1', targets: [thingTarget('a'), thingTarget('b')], document: '{"x":1}' });
    await ia.wait(`${T('a')}/notify-next`);

    const byNext = await request(ca, ia, `${T('a')}/$next/get`, { includeJobDocument: false });
    expect(byNext.outcome).toBe('accepted');
    expect(byNext.body['execution']).toMatchObject({ jobId: 'j1', status: 'QUEUED' });
    expect((byNext.body['execution'] as Record<string, unknown>)['jobDocument']).toBeUndefined();
    const byId = await request(ca, ia, `${T('a')}/j1/get`, {});
    expect(byId.body['execution']).toMatchObject({ jobId: 'j1', jobDocument: { x: 1 } });

    // QUEUED -> SUCCEEDED directly is legal for a device.
    expect((await request(ca, ia, `${T('a')}/j1/update`, { status: 'SUCCEEDED' })).outcome).toBe('accepted');
    expect(env.jobs.describeJob({ jobId: 'j1' }).job?.status).toBe('IN_PROGRESS');
    const cb = await env.device('b');
    const ib = new Inbox(cb);
    expect((await request(cb, ib, `${T('b')}/j1/update`, { status: 'REJECTED' })).outcome).toBe('accepted');
    const job = env.jobs.describeJob({ jobId: 'j1' }).job;
    expect(job?.status).toBe('COMPLETED');
    expect(job?.completedAt).toBeInstanceOf(Date);
    expect(job?.jobProcessDetails).toMatchObject({ numberOfSucceededThings: 1, numberOfRejectedThings: 1 });

    const none = await request(ca, ia, `${T('a')}/$next/get`, { clientToken: 'n' });
    expect(none.outcome).toBe('accepted');
    expect(none.body['execution']).toBeUndefined();
    const started = await request(ca, ia, `${T('a')}/start-next`, {});
    expect(started.outcome).toBe('accepted');
    expect(started.body['execution']).toBeUndefined();
  });

  it('a restart on the same SQLite file loses nothing', async () => {
    env.registry.createThing('r1');
    await env.jobs.createJob({ jobId: 'keep', targets: [thingTarget('r1')], document: '{"a":true}' });
    const c = await env.device('r1');
    const inbox = new Inbox(c);
    await request(c, inbox, `${T('r1')}/start-next`, { statusDetails: { p: '10' } });
    await request(c, inbox, `${T('r1')}/keep/update`, { status: 'IN_PROGRESS', statusDetails: { p: '50' } });
    await env.restart();
    const after = env.jobs.describeJobExecution({ jobId: 'keep', thingName: 'r1' }).execution;
    expect(after).toMatchObject({
      status: 'IN_PROGRESS',
      versionNumber: 3,
      statusDetails: { detailsMap: { p: '50' } },
    });
    const got = await request(c, inbox, `${T('r1')}/get`, {});
    expect(got.body).toMatchObject({ inProgressJobs: [{ jobId: 'keep', versionNumber: 3 }] });
    expect(
      (await request(c, inbox, `${T('r1')}/keep/update`, { status: 'SUCCEEDED', expectedVersion: 3 })).outcome,
    ).toBe('accepted');
    expect(env.jobs.describeJob({ jobId: 'keep' }).job?.status).toBe('COMPLETED');
  });

  it('responses go only to the requesting client', async () => {
    env.registry.createThing('s1');
    const asker = await env.device('s1');
    const other = await env.device('s1');
    const ia = new Inbox(asker);
    const io = new Inbox(other);
    await request(asker, ia, `${T('s1')}/get`, { clientToken: 'mine' });
    await new Promise((r) => setTimeout(r, 100));
    expect(io.on(`${T('s1')}/get/accepted`)).toEqual([]);
  });
});

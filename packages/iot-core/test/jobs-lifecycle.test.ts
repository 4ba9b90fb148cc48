import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inbox, JobsEnv, groupTarget, request, thingTarget } from '../src/testing/jobs-env.js';

const T = (thing: string) => `$aws/things/${thing}/jobs`;
const MIN = 60_000;

describe('jobs service: timeouts, retries, rollout, abort', () => {
  let env: JobsEnv;
  const exec = (jobId: string, thingName: string) => env.jobs.describeJobExecution({ jobId, thingName }).execution;
  /** Asks every thing for its pending list over MQTT and counts the QUEUED executions it sees. */
  const queuedCounter = async (things: readonly string[]): Promise<() => Promise<number>> => {
    const devices = await Promise.all(
      things.map(async (t) => {
        const c = await env.device(t);
        return { t, c, inbox: new Inbox(c) };
      }),
    );
    return async () => {
      const answers = await Promise.all(devices.map((d) => request(d.c, d.inbox, `${T(d.t)}/get`, {})));
      return answers.reduce((n, r) => n + (r.body['queuedJobs'] as unknown[]).length, 0);
    };
  };
  beforeEach(async () => {
    env = await JobsEnv.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('inProgressTimeoutInMinutes moves an IN_PROGRESS execution to TIMED_OUT and notifies', async () => {
    env.registry.createThing('t1');
    const c = await env.device('t1');
    const inbox = new Inbox(c);
    await env.jobs.createJob({
      jobId: 'to',
      targets: [thingTarget('t1')],
      document: '{}',
      timeoutConfig: { inProgressTimeoutInMinutes: 5 },
    });
    const s = await request(c, inbox, `${T('t1')}/start-next`, {});
    expect(s.body['execution']).toMatchObject({ status: 'IN_PROGRESS', approximateSecondsBeforeTimedOut: 300 });
    env.clock.advance(4 * MIN);
    await new Promise((r) => setTimeout(r, 80));
    expect(exec('to', 't1')?.status).toBe('IN_PROGRESS');
    env.clock.advance(MIN + 1);
    await expect.poll(() => exec('to', 't1')?.status).toBe('TIMED_OUT');
    expect(await inbox.wait(`${T('t1')}/notify`, 2)).toMatchObject({ jobs: {} });
    const late = await request(c, inbox, `${T('t1')}/to/update`, { status: 'SUCCEEDED' });
    expect(late.body).toMatchObject({ code: 'InvalidStateTransition', executionState: { status: 'TIMED_OUT' } });
    expect(env.jobs.describeJob({ jobId: 'to' }).job?.jobProcessDetails?.numberOfTimedOutThings).toBe(1);
  });

  it('step timeouts: set by start-next, replaced by update, cleared with -1', async () => {
    env.registry.createThing('t2');
    const c = await env.device('t2');
    const inbox = new Inbox(c);
    await env.jobs.createJob({ jobId: 'st', targets: [thingTarget('t2')], document: '{}' });
    await request(c, inbox, `${T('t2')}/start-next`, { stepTimeoutInMinutes: 2 });
    const u = await request(c, inbox, `${T('t2')}/st/update`, { status: 'IN_PROGRESS', stepTimeoutInMinutes: -1 });
    expect(u.outcome).toBe('accepted');
    env.clock.advance(10 * MIN);
    await new Promise((r) => setTimeout(r, 80));
    expect(exec('st', 't2')?.status).toBe('IN_PROGRESS');
    await request(c, inbox, `${T('t2')}/st/update`, { status: 'IN_PROGRESS', stepTimeoutInMinutes: 1 });
    env.clock.advance(MIN + 1);
    await expect.poll(() => exec('st', 't2')?.status).toBe('TIMED_OUT');
  });

  it('jobExecutionsRetryConfig re-queues FAILED and TIMED_OUT executions with executionNumber + 1, up to the limit', async () => {
    env.registry.createThing('t3');
    const c = await env.device('t3');
    const inbox = new Inbox(c);
    await env.jobs.createJob({
      jobId: 'rt',
      targets: [thingTarget('t3')],
      document: '{}',
      timeoutConfig: { inProgressTimeoutInMinutes: 1 },
      jobExecutionsRetryConfig: {
        criteriaList: [
          { failureType: 'FAILED', numberOfRetries: 1 },
          { failureType: 'TIMED_OUT', numberOfRetries: 1 },
        ],
      },
    });
    await request(c, inbox, `${T('t3')}/rt/update`, { status: 'FAILED' });
    expect(exec('rt', 't3')).toMatchObject({ status: 'QUEUED', executionNumber: 2, versionNumber: 1 });
    expect(env.jobs.describeJobExecution({ jobId: 'rt', thingName: 't3', executionNumber: 1 }).execution?.status).toBe(
      'FAILED',
    );
    const next = await inbox.wait(`${T('t3')}/notify-next`, 2);
    expect(next).toMatchObject({ execution: { jobId: 'rt', executionNumber: 2, status: 'QUEUED' } });
    // Second attempt times out: retried once more under TIMED_OUT.
    await request(c, inbox, `${T('t3')}/start-next`, {});
    env.clock.advance(MIN + 1);
    await expect.poll(() => exec('rt', 't3')?.executionNumber).toBe(3);
    // Third attempt fails: FAILED retries are used up.
    const r = await request(c, inbox, `${T('t3')}/rt/update`, { status: 'FAILED', executionNumber: 3 });
    expect(r.outcome).toBe('accepted');
    expect(exec('rt', 't3')).toMatchObject({ status: 'FAILED', executionNumber: 3 });
    expect(env.jobs.describeJob({ jobId: 'rt' }).job?.status).toBe('COMPLETED');
    const list = env.jobs.listJobExecutionsForJob({ jobId: 'rt' });
    expect(list.executionSummaries?.[0]?.jobExecutionSummary).toMatchObject({ executionNumber: 3, retryAttempt: 2 });
  });

  it('maximumPerMinute releases QUEUED executions at the configured rate', async () => {
    const things = ['r1', 'r2', 'r3', 'r4', 'r5'];
    env.registry.createThingGroup('g');
    for (const t of things) {
      env.registry.createThing(t);
      env.registry.addThingToGroup(t, 'g');
    }
    await env.jobs.createJob({
      jobId: 'rate',
      targets: [groupTarget('g')],
      document: '{}',
      jobExecutionsRolloutConfig: { maximumPerMinute: 2 },
    });
    const released = await queuedCounter(things);
    expect(await released()).toBe(2);
    expect(env.jobs.describeJob({ jobId: 'rate' }).job?.jobProcessDetails?.processingTargets).toEqual([
      groupTarget('g'),
    ]);
    await new Promise((r) => setTimeout(r, 80));
    expect(await released()).toBe(2);
    env.clock.advance(MIN);
    await expect.poll(released).toBe(4);
    env.clock.advance(MIN);
    await expect.poll(released).toBe(5);
    expect(env.jobs.describeJob({ jobId: 'rate' }).job?.jobProcessDetails?.processingTargets).toEqual([]);
  });

  it('exponentialRate increases the rate after numberOfNotifiedThings', async () => {
    const things = Array.from({ length: 12 }, (_, i) => `e${i}`);
    env.registry.createThingGroup('eg');
    for (const t of things) {
      env.registry.createThing(t);
      env.registry.addThingToGroup(t, 'eg');
    }
    await env.jobs.createJob({
      jobId: 'exp',
      targets: [groupTarget('eg')],
      document: '{}',
      jobExecutionsRolloutConfig: {
        maximumPerMinute: 8,
        exponentialRate: {
          baseRatePerMinute: 2,
          incrementFactor: 2,
          rateIncreaseCriteria: { numberOfNotifiedThings: 2 },
        },
      },
    });
    const queued = () => env.jobs.listJobExecutionsForJob({ jobId: 'exp' }).executionSummaries?.length ?? 0;
    expect(queued()).toBe(12);
    const releasedNow = await queuedCounter(things);
    expect(await releasedNow()).toBe(2); // base rate 2, then rate -> 4
    env.clock.advance(MIN);
    await expect.poll(releasedNow).toBe(6); // 4 more, rate -> 8 (cap)
    env.clock.advance(MIN);
    await expect.poll(releasedNow).toBe(12); // 6 left, rate 8
  });

  it('abortConfig cancels the job and its QUEUED executions; IN_PROGRESS ones run on', async () => {
    const things = ['a1', 'a2', 'a3', 'a4'];
    for (const t of things) env.registry.createThing(t);
    await env.jobs.createJob({
      jobId: 'ab',
      targets: things.map(thingTarget),
      document: '{}',
      abortConfig: {
        criteriaList: [
          { failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 50, minNumberOfExecutedThings: 4 },
        ],
      },
    });
    const clients = await Promise.all(
      things.map(async (t) => {
        const c = await env.device(t);
        return { t, c, inbox: new Inbox(c) };
      }),
    );
    const [c1, c2, c3] = clients;
    if (!c1 || !c2 || !c3) throw new Error('clients');
    await request(c3.c, c3.inbox, `${T('a3')}/start-next`, {});
    await request(c1.c, c1.inbox, `${T('a1')}/ab/update`, { status: 'FAILED' });
    expect(env.jobs.describeJob({ jobId: 'ab' }).job?.status).toBe('IN_PROGRESS');
    await request(c2.c, c2.inbox, `${T('a2')}/ab/update`, { status: 'FAILED' });
    const job = env.jobs.describeJob({ jobId: 'ab' }).job;
    expect(job).toMatchObject({ status: 'CANCELED', reasonCode: 'JOB_ABORTED', forceCanceled: false });
    expect(exec('ab', 'a4')?.status).toBe('CANCELED');
    expect(exec('ab', 'a3')?.status).toBe('IN_PROGRESS');
    expect(await c1.inbox.wait(`${T('a1')}/notify`)).toMatchObject({ jobs: {} });
    expect(await clients[3]?.inbox.wait(`${T('a4')}/notify`)).toMatchObject({ jobs: {} });
    // The IN_PROGRESS device may still finish.
    expect((await request(c3.c, c3.inbox, `${T('a3')}/ab/update`, { status: 'SUCCEEDED' })).outcome).toBe('accepted');
  });
});

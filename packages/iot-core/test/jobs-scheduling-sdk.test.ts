import {
  CreateJobCommand,
  CreateThingCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  type CreateJobCommandInput,
} from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAedesBus, createJobsService, createShadowService, startEmbeddedBroker } from '../src/index.js';
import {
  ACCOUNT_ID,
  failure,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';
import { Inbox, request, TestClock } from '../src/testing/jobs-env.js';
import { connectClient } from '../src/testing/mqtt.js';

/*
 * CreateJob's schedulingConfig through @aws-sdk/client-iot, the Jobs service on a test clock: the job is
 * SCHEDULED until startTime and its first maintenance window, rolls out only inside windows (SCHEDULED between
 * them), and follows endBehavior at endTime. The clock jumps; the service's tick (20 ms) notices.
 */
const T0 = Date.UTC(2026, 0, 1); // 00:00 UTC
const MIN = 60_000;
const at = (h: number, m: number): number => T0 + h * 60 * MIN + m * MIN;

let clock: TestClock;
let cp: ControlPlaneFixture;
const devices: MqttClient[] = [];
beforeEach(async () => {
  clock = new TestClock(T0);
  cp = await startControlPlane(async (registry, db, arn) => {
    const logger = pino({ level: 'silent' });
    const broker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const shadows = await createShadowService({ db, bus, logger });
    const jobs = await createJobsService({ db, bus, registry, arn, logger, now: clock.now, tickIntervalMs: 20 });
    return {
      shadows,
      jobs,
      brokerPort: broker.port,
      async close() {
        await jobs.close();
        await shadows.close();
        await bus.close();
        await broker.close();
      },
    };
  });
  for (const thingName of ['dev-1', 'dev-2']) await cp.iot.send(new CreateThingCommand({ thingName }));
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.endAsync()));
  await cp.close();
});

const thing = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/${name}`;
const document = '{"operation":"ota"}';

async function device(thingName: string): Promise<{ client: MqttClient; inbox: Inbox }> {
  const client = await connectClient(cp.brokerPort ?? 0, thingName);
  devices.push(client);
  const inbox = new Inbox(client);
  await client.subscribeAsync(`$aws/things/${thingName}/jobs/#`, { qos: 1 });
  return { client, inbox };
}

const jobStatus = async (jobId: string): Promise<string | undefined> =>
  (await cp.iot.send(new DescribeJobCommand({ jobId }))).job?.status;

/** Moves the clock and waits (generously) for the service's tick to reach the expected job status. */
async function advanceTo(ms: number, jobId: string, status: string): Promise<void> {
  clock.ms = ms;
  const deadline = Date.now() + 10_000;
  while ((await jobStatus(jobId)) !== status) {
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not become ${status}: ${await jobStatus(jobId)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pendingJobs = async (d: { client: MqttClient; inbox: Inbox }, thingName: string): Promise<string[]> => {
  const r = await request(d.client, d.inbox, `$aws/things/${thingName}/jobs/get`, {});
  const body = r.body as { queuedJobs?: { jobId: string }[]; inProgressJobs?: { jobId: string }[] };
  return [...(body.inProgressJobs ?? []), ...(body.queuedJobs ?? [])].map((j) => j.jobId);
};

const scheduled = (endBehavior: 'STOP_ROLLOUT' | 'CANCEL' | 'FORCE_CANCEL'): CreateJobCommandInput => ({
  jobId: `sched-${endBehavior.toLowerCase().replace('_', '-')}`,
  targets: [thing('dev-1'), thing('dev-2')],
  document,
  // One thing per minute, so a window can close with a thing still waiting.
  jobExecutionsRolloutConfig: { maximumPerMinute: 1 },
  schedulingConfig: {
    startTime: '2026-01-01T00:31',
    endTime: '2026-01-01T03:00',
    endBehavior,
    maintenanceWindows: [{ startTime: 'cron(0 * * * ? *)', durationInMinutes: 10 }],
  },
});

describe('schedulingConfig through @aws-sdk/client-iot on a test clock', () => {
  it('rolls out only inside maintenance windows and cancels at endTime (CANCEL)', async () => {
    const dev1 = await device('dev-1');
    const dev2 = await device('dev-2');
    const input = scheduled('CANCEL');
    const jobId = input.jobId ?? '';
    await cp.iot.send(new CreateJobCommand(input));

    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId }));
    expect(job).toMatchObject({
      status: 'SCHEDULED',
      schedulingConfig: input.schedulingConfig,
      scheduledJobRollouts: [{ startTime: '2026-01-01T01:00' }, { startTime: '2026-01-01T02:00' }],
    });
    expect(await pendingJobs(dev1, 'dev-1')).toEqual([]);

    // startTime passed, but no window is open yet.
    await advanceTo(at(0, 45), jobId, 'SCHEDULED');
    await new Promise((r) => setTimeout(r, 100));
    expect(await jobStatus(jobId)).toBe('SCHEDULED');
    expect(await pendingJobs(dev1, 'dev-1')).toEqual([]);

    // 01:00: the first window opens; one thing per minute is released.
    await advanceTo(at(1, 0), jobId, 'IN_PROGRESS');
    await dev1.inbox.wait('$aws/things/dev-1/jobs/notify-next', 1, 10_000);
    expect(await pendingJobs(dev1, 'dev-1')).toEqual([jobId]);
    expect(await pendingJobs(dev2, 'dev-2')).toEqual([]);
    const started = await request(dev1.client, dev1.inbox, `$aws/things/dev-1/jobs/${jobId}/update`, {
      status: 'IN_PROGRESS',
    });
    expect(started.outcome).toBe('accepted');

    // 01:10: the window closes before dev-2's turn; the job waits SCHEDULED and releases nothing, though
    // more than a minute has passed.
    await advanceTo(at(1, 10), jobId, 'SCHEDULED');
    await new Promise((r) => setTimeout(r, 100));
    expect(await pendingJobs(dev2, 'dev-2')).toEqual([]);
    expect(await pendingJobs(dev1, 'dev-1')).toEqual([jobId]); // released executions run on

    // 02:00: the next window releases dev-2.
    await advanceTo(at(2, 0), jobId, 'IN_PROGRESS');
    await dev2.inbox.wait('$aws/things/dev-2/jobs/notify-next', 1, 10_000);
    expect(await pendingJobs(dev2, 'dev-2')).toEqual([jobId]);

    // 03:00: endTime with CANCEL: QUEUED executions are canceled, IN_PROGRESS ones continue.
    await advanceTo(at(3, 0), jobId, 'CANCELED');
    const e1 = await cp.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: 'dev-1' }));
    const e2 = await cp.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: 'dev-2' }));
    expect(e1.execution?.status).toBe('IN_PROGRESS');
    expect(e2.execution?.status).toBe('CANCELED');
  });

  it('FORCE_CANCEL at endTime cancels IN_PROGRESS executions too', async () => {
    const dev1 = await device('dev-1');
    const input = scheduled('FORCE_CANCEL');
    const jobId = input.jobId ?? '';
    await cp.iot.send(new CreateJobCommand(input));
    await advanceTo(at(1, 0), jobId, 'IN_PROGRESS');
    await dev1.inbox.wait('$aws/things/dev-1/jobs/notify-next', 1, 10_000);
    await request(dev1.client, dev1.inbox, `$aws/things/dev-1/jobs/${jobId}/update`, { status: 'IN_PROGRESS' });
    await advanceTo(at(3, 0), jobId, 'CANCELED');
    const e1 = await cp.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: 'dev-1' }));
    expect(e1.execution).toMatchObject({ status: 'CANCELED', forceCanceled: true });
  });

  it('STOP_ROLLOUT at endTime drops what was never rolled out; the job completes when the rest finishes', async () => {
    const dev1 = await device('dev-1');
    const input = scheduled('STOP_ROLLOUT');
    const jobId = input.jobId ?? '';
    await cp.iot.send(new CreateJobCommand(input));
    await advanceTo(at(1, 0), jobId, 'IN_PROGRESS');
    await dev1.inbox.wait('$aws/things/dev-1/jobs/notify-next', 1, 10_000);
    await request(dev1.client, dev1.inbox, `$aws/things/dev-1/jobs/${jobId}/update`, { status: 'IN_PROGRESS' });
    // Past endTime without another window: dev-2 was never released and never will be.
    await advanceTo(at(3, 0), jobId, 'IN_PROGRESS');
    const deadline = Date.now() + 10_000;
    const dev2Execution = () => cp.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: 'dev-2' }));
    while (
      (await dev2Execution().then(
        () => 'found',
        () => 'gone',
      )) === 'found'
    ) {
      if (Date.now() > deadline) throw new Error('the unreleased execution of dev-2 was not dropped at endTime');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await failure(dev2Execution())).name).toBe('ResourceNotFoundException');
    expect(await jobStatus(jobId)).toBe('IN_PROGRESS');
    const done = await request(dev1.client, dev1.inbox, `$aws/things/dev-1/jobs/${jobId}/update`, {
      status: 'SUCCEEDED',
    });
    expect(done.outcome).toBe('accepted');
    await advanceTo(at(3, 1), jobId, 'COMPLETED');
  });

  it.each([
    ['startTime under 30 minutes ahead', { startTime: '2026-01-01T00:10' }, 'schedulingConfig.startTime'],
    ['a malformed time', { startTime: 'tomorrow' }, 'schedulingConfig.startTime'],
    [
      'a bad cron',
      { maintenanceWindows: [{ startTime: 'cron(0 * * * * *)', durationInMinutes: 10 }] },
      'schedulingConfig.maintenanceWindows[0].startTime',
    ],
    [
      'endTime before startTime + 30 minutes',
      { startTime: '2026-01-01T01:00', endTime: '2026-01-01T01:10' },
      'schedulingConfig.endTime',
    ],
  ])('refuses %s with InvalidRequestException naming the member, creating nothing', async (_, config, field) => {
    const f = await failure(
      cp.iot.send(
        new CreateJobCommand({ jobId: 'bad', targets: [thing('dev-1')], document, schedulingConfig: config }),
      ),
    );
    expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(f.message.startsWith(`${field}:`)).toBe(true);
    expect((await failure(cp.iot.send(new DescribeJobCommand({ jobId: 'bad' })))).name).toBe(
      'ResourceNotFoundException',
    );
  });

  it('refuses an endBehavior AWS does not define at the HTTP boundary', async () => {
    const f = await failure(
      cp.iot.send(
        new CreateJobCommand({
          jobId: 'bad',
          targets: [thing('dev-1')],
          document,
          schedulingConfig: { endTime: '2026-01-01T02:00', endBehavior: 'PAUSE' as 'CANCEL' },
        }),
      ),
    );
    expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
  });
});

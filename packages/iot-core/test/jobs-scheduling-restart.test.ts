import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobsEnv, thingTarget } from '../src/testing/jobs-env.js';

/** A scheduled job survives a restart on the same SQLite file: the schedule is rebuilt from what was stored. */
describe('schedulingConfig across a restart', () => {
  let env: JobsEnv;
  beforeEach(async () => {
    env = await JobsEnv.start();
    env.registry.createThing('dev1');
  });
  afterEach(async () => {
    await env.close();
  });

  const status = (): string | undefined => env.jobs.describeJob({ jobId: 'sched' }).job?.status;
  async function until(want: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (status() !== want) {
      if (Date.now() > deadline) throw new Error(`job did not become ${want}: ${status()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('stays SCHEDULED through the restart and opens at its window, validated against its creation time', async () => {
    await env.jobs.createJob({
      jobId: 'sched',
      targets: [thingTarget('dev1')],
      document: '{"op":"x"}',
      schedulingConfig: {
        startTime: '2026-01-01T00:40',
        endTime: '2026-01-01T02:00',
        endBehavior: 'CANCEL',
        maintenanceWindows: [{ startTime: 'cron(0 1 * * ? *)', durationInMinutes: 30 }],
      },
    });
    expect(status()).toBe('SCHEDULED');
    // Past startTime: validating at this clock would refuse the config ("at least 30 minutes after now").
    env.clock.ms = Date.UTC(2026, 0, 1, 0, 50);
    await env.restart();
    await new Promise((r) => setTimeout(r, 100));
    expect(status()).toBe('SCHEDULED');
    env.clock.ms = Date.UTC(2026, 0, 1, 1, 0);
    await until('IN_PROGRESS');
    expect(env.jobs.describeJobExecution({ jobId: 'sched', thingName: 'dev1' }).execution?.status).toBe('QUEUED');
    env.clock.ms = Date.UTC(2026, 0, 1, 2, 0);
    await until('CANCELED');
    expect(env.jobs.describeJobExecution({ jobId: 'sched', thingName: 'dev1' }).execution?.status).toBe('CANCELED');
  });
});

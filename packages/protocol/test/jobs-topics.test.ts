import { describe, expect, it } from 'vitest';
import {
  jobsAnswersFilter,
  jobsNotifyNextTopic,
  jobsNotifyTopic,
  jobsRequestTopic,
  jobsResponseTopic,
  parseJobsTopic,
  topicMatches,
  type JobsOperation,
} from '@otafleet/protocol';

const operations: readonly [JobsOperation, string][] = [
  [{ name: 'GetPendingJobExecutions' }, '$aws/things/dev-1/jobs/get'],
  [{ name: 'StartNextPendingJobExecution' }, '$aws/things/dev-1/jobs/start-next'],
  [{ name: 'DescribeJobExecution', jobId: 'job_1' }, '$aws/things/dev-1/jobs/job_1/get'],
  [{ name: 'DescribeJobExecution', jobId: '$next' }, '$aws/things/dev-1/jobs/$next/get'],
  [{ name: 'UpdateJobExecution', jobId: 'job-1' }, '$aws/things/dev-1/jobs/job-1/update'],
];

describe('jobs topics', () => {
  it.each(operations)('request %j round-trips through %s', (operation, topic) => {
    expect(jobsRequestTopic('dev-1', operation)).toBe(topic);
    expect(parseJobsTopic(topic)).toEqual({ ok: true, value: { kind: 'request', thingName: 'dev-1', operation } });
  });

  it.each(operations.flatMap(([op, t]) => (['accepted', 'rejected'] as const).map((o) => [op, t, o] as const)))(
    'response %j %s /%s round-trips',
    (operation, topic, outcome) => {
      const built = jobsResponseTopic('dev-1', operation, outcome);
      expect(built).toBe(`${topic}/${outcome}`);
      expect(parseJobsTopic(built)).toEqual({
        ok: true,
        value: { kind: 'response', thingName: 'dev-1', operation, outcome },
      });
    },
  );

  it('notify and notify-next round-trip', () => {
    expect(jobsNotifyTopic('t:1')).toBe('$aws/things/t:1/jobs/notify');
    expect(parseJobsTopic(jobsNotifyTopic('t:1'))).toEqual({ ok: true, value: { kind: 'notify', thingName: 't:1' } });
    expect(jobsNotifyNextTopic('t_1')).toBe('$aws/things/t_1/jobs/notify-next');
    expect(parseJobsTopic(jobsNotifyNextTopic('t_1'))).toEqual({
      ok: true,
      value: { kind: 'notify-next', thingName: 't_1' },
    });
  });

  it.each([
    ['$aws/things/dev-1/shadow/get', undefined],
    ['$aws/things/dev-1', undefined],
    ['things/dev-1/jobs/get', undefined],
    ['$aws/things/dev 1/jobs/get', undefined],
    [`$aws/things/${'x'.repeat(129)}/jobs/get`, undefined],
    ['$aws/things//jobs/get', undefined],
    ['$aws/things/dev-1/jobs', 'dev-1'],
    ['$aws/things/dev-1/jobs/', 'dev-1'],
    ['$aws/things/dev-1/jobs/unknown', 'dev-1'],
    ['$aws/things/dev-1/jobs/get/extra', 'dev-1'],
    ['$aws/things/dev-1/jobs/job.1/get', 'dev-1'],
    [`$aws/things/dev-1/jobs/${'j'.repeat(65)}/update`, 'dev-1'],
    ['$aws/things/dev-1/jobs/$next/update', 'dev-1'],
    ['$aws/things/dev-1/jobs/job1/delete', 'dev-1'],
    ['$aws/things/dev-1/jobs/job1/update/other', 'dev-1'],
    ['$aws/things/dev-1/jobs/notify/accepted', 'dev-1'],
  ])('%s is an InvalidTopic', (topic, thingName) => {
    const r = parseJobsTopic(topic);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('InvalidTopic');
    expect(r.error.message.length).toBeGreaterThan(0);
    expect(r.error.thingName).toBe(thingName);
  });

  it('accepts the longest legal names', () => {
    const thing = 'a'.repeat(128);
    const job = 'b'.repeat(64);
    expect(parseJobsTopic(`$aws/things/${thing}/jobs/${job}/update`).ok).toBe(true);
  });

  it.each(operations)('one answers filter for %j takes both outcomes of every job and no request topic', (op) => {
    const anyJob = 'jobId' in op ? { ...op, jobId: '+' } : op;
    const filter = jobsAnswersFilter('dev-1', anyJob);
    for (const outcome of ['accepted', 'rejected'] as const)
      expect(topicMatches(filter, jobsResponseTopic('dev-1', op, outcome))).toBe(true);
    for (const [other] of operations) expect(topicMatches(filter, jobsRequestTopic('dev-1', other))).toBe(false);
    expect(topicMatches(filter, jobsNotifyNextTopic('dev-1'))).toBe(false);
    expect(topicMatches(filter, jobsResponseTopic('dev-2', op, 'accepted'))).toBe(false);
    const others = operations.filter(([o]) => o.name !== op.name);
    for (const [other] of others)
      expect(topicMatches(filter, jobsResponseTopic('dev-1', other, 'accepted'))).toBe(false);
  });
});

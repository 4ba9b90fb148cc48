import { describe, expect, it } from 'vitest';
import {
  DEVICE_REQUESTABLE_STATUSES,
  deviceExecutionEvent,
  EXECUTION_DELETED,
  executionTransition,
  JOB_EVENTS,
  JOB_EXECUTION_EVENTS,
  JOB_EXECUTION_STATUSES,
  JOB_STATUSES,
  jobTransition,
  nextExecutionStatus,
  type JobEvent,
  type JobExecutionEvent,
  type JobExecutionOutcome,
  type JobExecutionStatus,
  type JobStatus,
} from '@otafleet/protocol';

/*
 * The expected outcome of every (status, event) pair, written from the AWS rules rather than copied from the
 * table (https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html, the CancelJob,
 * CancelJobExecution, DeleteJob and DeleteJobExecution API references):
 */
const PENDING: readonly JobExecutionStatus[] = ['QUEUED', 'IN_PROGRESS'];

function expectedExecution(from: JobExecutionStatus, event: JobExecutionEvent): JobExecutionOutcome | undefined {
  const pending = PENDING.includes(from);
  switch (event) {
    // A device works on a pending execution: it may (re)set IN_PROGRESS or finish it; a terminal one is final.
    case 'device-in-progress':
      return pending ? 'IN_PROGRESS' : undefined;
    case 'device-succeeded':
      return pending ? 'SUCCEEDED' : undefined;
    case 'device-failed':
      return pending ? 'FAILED' : undefined;
    case 'device-rejected':
      return pending ? 'REJECTED' : undefined;
    // The in-progress and step timers run only while IN_PROGRESS.
    case 'timeout':
      return from === 'IN_PROGRESS' ? 'TIMED_OUT' : undefined;
    // "If the job execution is IN_PROGRESS, it isn't canceled unless you set force to true."
    case 'cancel':
      return from === 'QUEUED' ? 'CANCELED' : undefined;
    case 'force-cancel':
      return pending ? 'CANCELED' : undefined;
    // REMOVED: "the thing … was removed from the target group" — only pending executions are affected.
    case 'remove':
      return pending ? 'REMOVED' : undefined;
    // DeleteJobExecution: "Otherwise, you can only delete a job execution which is in a terminal state."
    case 'delete':
      return pending ? undefined : EXECUTION_DELETED;
    case 'force-delete':
      return EXECUTION_DELETED;
  }
}

function expectedJob(from: JobStatus, event: JobEvent): JobStatus | undefined {
  switch (event) {
    // SCHEDULED → IN_PROGRESS at startTime / a window's start; back to SCHEDULED when the window closes.
    case 'rollout-start':
      return from === 'SCHEDULED' ? 'IN_PROGRESS' : undefined;
    case 'rollout-pause':
      return from === 'IN_PROGRESS' ? 'SCHEDULED' : undefined;
    // STOP_ROLLOUT at endTime: the job is IN_PROGRESS until its released executions finish.
    case 'rollout-end':
      return from === 'SCHEDULED' || from === 'IN_PROGRESS' ? 'IN_PROGRESS' : undefined;
    case 'complete':
      return from === 'IN_PROGRESS' ? 'COMPLETED' : undefined;
    // A COMPLETED job cannot be canceled; a CANCELED one may be again (with force).
    case 'cancel':
      return from === 'SCHEDULED' || from === 'IN_PROGRESS' || from === 'CANCELED' ? 'CANCELED' : undefined;
    // "You can only delete a job that's in a terminal state (COMPLETED or CANCELED)" unless force.
    case 'delete':
      return from === 'COMPLETED' || from === 'CANCELED' ? 'DELETION_IN_PROGRESS' : undefined;
    case 'force-delete':
      return from === 'DELETION_IN_PROGRESS' ? undefined : 'DELETION_IN_PROGRESS';
  }
}

describe('job execution transition table', () => {
  const pairs = JOB_EXECUTION_STATUSES.flatMap((s) => JOB_EXECUTION_EVENTS.map((e) => [s, e] as const));
  it('covers every status and event', () => {
    expect(pairs).toHaveLength(8 * 10);
  });
  it.each(pairs)('%s on %s', (from, event) => {
    expect(executionTransition(from, event)).toBe(expectedExecution(from, event));
  });

  it('maps each status a device may ask for to its event', () => {
    for (const status of DEVICE_REQUESTABLE_STATUSES)
      expect(nextExecutionStatus('QUEUED', deviceExecutionEvent(status))).toBe(status);
  });

  it('gives no next status for a delete', () => {
    expect(nextExecutionStatus('SUCCEEDED', 'delete')).toBeUndefined();
    expect(nextExecutionStatus('IN_PROGRESS', 'force-cancel')).toBe('CANCELED');
  });
});

describe('job transition table', () => {
  const pairs = JOB_STATUSES.flatMap((s) => JOB_EVENTS.map((e) => [s, e] as const));
  it('covers every status and event', () => {
    expect(pairs).toHaveLength(5 * 7);
  });
  it.each(pairs)('%s on %s', (from, event) => {
    expect(jobTransition(from, event)).toBe(expectedJob(from, event));
  });
});

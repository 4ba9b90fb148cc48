import { describe, expect, it } from 'vitest';
import {
  abortCriterionMatches,
  isDeviceTransitionAllowed,
  isPendingStatus,
  isRetryableStatus,
  isTerminalStatus,
  JOB_EXECUTION_STATUSES,
  retryCriterionMatches,
  SERVICE_EXECUTION_EVENTS,
  serviceTransition,
  type JobExecutionStatus,
  type ServiceExecutionEvent,
} from '@otafleet/protocol';

const DEVICE_LEGAL: Readonly<Record<JobExecutionStatus, readonly JobExecutionStatus[]>> = {
  QUEUED: ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'],
  IN_PROGRESS: ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'],
  SUCCEEDED: [],
  FAILED: [],
  TIMED_OUT: [],
  REJECTED: [],
  REMOVED: [],
  CANCELED: [],
};

const SERVICE: Readonly<Record<ServiceExecutionEvent, Partial<Record<JobExecutionStatus, JobExecutionStatus>>>> = {
  timeout: { IN_PROGRESS: 'TIMED_OUT' },
  cancel: { QUEUED: 'CANCELED' },
  'force-cancel': { QUEUED: 'CANCELED', IN_PROGRESS: 'CANCELED' },
  remove: { QUEUED: 'REMOVED', IN_PROGRESS: 'REMOVED' },
};

describe('job execution state machine', () => {
  const pairs = JOB_EXECUTION_STATUSES.flatMap((from) => JOB_EXECUTION_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('device %s -> %s', (from, to) => {
    expect(isDeviceTransitionAllowed(from, to)).toBe(DEVICE_LEGAL[from].includes(to));
  });

  const events = JOB_EXECUTION_STATUSES.flatMap((from) => SERVICE_EXECUTION_EVENTS.map((e) => [from, e] as const));
  it.each(events)('service %s on %s', (from, event) => {
    expect(serviceTransition(from, event)).toBe(SERVICE[event][from]);
  });

  it('classifies terminal, pending and retryable statuses', () => {
    expect(JOB_EXECUTION_STATUSES.filter(isTerminalStatus)).toEqual([
      'SUCCEEDED',
      'FAILED',
      'TIMED_OUT',
      'REJECTED',
      'REMOVED',
      'CANCELED',
    ]);
    expect(JOB_EXECUTION_STATUSES.filter(isPendingStatus)).toEqual(['QUEUED', 'IN_PROGRESS']);
    expect(JOB_EXECUTION_STATUSES.filter(isRetryableStatus)).toEqual(['FAILED', 'TIMED_OUT']);
  });

  it('matches retry and abort criteria by failure type', () => {
    expect(JOB_EXECUTION_STATUSES.filter((s) => retryCriterionMatches('ALL', s))).toEqual(['FAILED', 'TIMED_OUT']);
    expect(JOB_EXECUTION_STATUSES.filter((s) => retryCriterionMatches('FAILED', s))).toEqual(['FAILED']);
    expect(JOB_EXECUTION_STATUSES.filter((s) => retryCriterionMatches('TIMED_OUT', s))).toEqual(['TIMED_OUT']);
    expect(JOB_EXECUTION_STATUSES.filter((s) => abortCriterionMatches('ALL', s))).toEqual([
      'FAILED',
      'TIMED_OUT',
      'REJECTED',
    ]);
    expect(JOB_EXECUTION_STATUSES.filter((s) => abortCriterionMatches('REJECTED', s))).toEqual(['REJECTED']);
  });
});

import { describe, expect, it } from 'vitest';
import {
  abortCriterionMatches,
  isPendingStatus,
  isRetryableStatus,
  isTerminalStatus,
  JOB_EXECUTION_STATUSES,
  retryCriterionMatches,
} from '@otafleet/protocol';

describe('job execution statuses', () => {
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

import type { JobExecutionStatus } from '@otafleet/protocol';
import { failedTrialReasonCode, type SlotBackend, type SlotState } from '../slots/index.js';
import type { UpdatePatch, UpdateRecord } from './record.js';
import type { UpdateEvent } from './states.js';
import { verdict } from './verdicts.js';

export interface RecoveryInput {
  readonly record: UpdateRecord;
  /** What `recordBootAttempt()` returned at this start. */
  readonly slots: SlotState;
  readonly activation: SlotBackend['activation'];
  /** The Jobs service's status of this execution, once known (undefined before connecting). */
  readonly jobs?: JobExecutionStatus | 'GONE' | undefined;
  /** Agent starts allowed within one job before it is ended as a loop. */
  readonly maxStarts: number;
  /** Epoch ms now: a deadline that was never set starts from here. */
  readonly now: number;
}

export type RecoveryDecision =
  { readonly kind: 'resume' } | { readonly kind: 'event'; readonly event: UpdateEvent; readonly patch: UpdatePatch };

const resume: RecoveryDecision = { kind: 'resume' };
const event = (e: UpdateEvent, patch: UpdatePatch = {}): RecoveryDecision => ({ kind: 'event', event: e, patch });

/**
 * What a starting agent does with the job it finds in its journal: run the stored state's action again
 * (`resume`: every action is written to be repeated), or feed the table an event that what happened while it was
 * down implies. Pure: the journal's state, the slots' own records after the boot step, and (once connected) the
 * Jobs service's view decide; nothing in memory survives a crash, so nothing else may.
 */
export function decideRecovery(input: RecoveryInput): RecoveryDecision {
  const { record, slots } = input;
  const { state } = record;
  const target = record.targetSlot;
  const trialRunning = target !== undefined && slots.trial?.slot === target && slots.booted === target;
  const exhausted =
    target !== undefined &&
    slots.trial === undefined &&
    slots.failedTrial?.slot === target &&
    slots.failedTrial.reason === 'attempts-exhausted';
  const switched =
    state === 'Arming' || state === 'Activating' || state === 'HealthChecking' || state === 'ReportingSuccess';

  // The Jobs service ended the execution while we were down (canceled, timed out, removed).
  const jobs = input.jobs;
  if (jobs !== undefined && jobs !== 'IN_PROGRESS' && jobs !== 'QUEUED') {
    if (jobs === 'SUCCEEDED' && state === 'ReportingSuccess' && trialRunning) return event('Success');
    const exitPath =
      state === 'RollingBack' || state === 'ReportingFailure' || state === 'Canceling' || state === 'Committing';
    if (!exitPath && !(state === 'ReportingSuccess' && jobs === 'SUCCEEDED')) {
      const code = jobs === 'TIMED_OUT' ? 'TIMED_OUT' : 'CANCELED';
      return event('Cancel', { verdict: verdict(code, `the Jobs service shows the execution ${jobs}`) });
    }
  }

  if (record.starts > input.maxStarts && record.verdict?.reasonCode !== 'STATE_LOOP') {
    return event('StateLoopDetected', {
      verdict: verdict(
        'STATE_LOOP',
        `the agent started ${record.starts} times during this job (limit ${input.maxStarts})`,
      ),
    });
  }

  if (switched && exhausted) {
    const failed = slots.failedTrial;
    // A new agent that never reached a commit did not start or connect; the launcher brought the old one back.
    const code =
      record.document.component === 'agent'
        ? 'AGENT_START_FAILED'
        : failed === undefined
          ? undefined
          : failedTrialReasonCode(failed, input.activation);
    return event('BootFailed', {
      verdict: verdict(
        code ?? 'BOOT_FAILED',
        `${record.document.component === 'agent' ? 'agent slot' : 'slot'} ${target} was started ${failed?.attempts ?? '?'} of ${failed?.maxAttempts ?? '?'} times without a commit; the device went back to slot ${slots.committed}`,
      ),
    });
  }

  switch (state) {
    case 'Arming':
    case 'Activating':
      if (trialRunning) {
        return event('Rebooted', record.deadlineAt === undefined ? deadlinePatch(record, input.now) : {});
      }
      return resume;
    case 'HealthChecking':
    case 'ReportingSuccess':
      if (trialRunning) return resume;
      return event('Failure', {
        verdict:
          record.verdict ??
          verdict('INTERNAL_ERROR', `slot ${target ?? '?'} is no longer the running trial (booted ${slots.booted})`),
      });
    case 'Committing':
      if (target !== undefined && slots.committed !== target && !trialRunning) {
        return event('Failure', {
          verdict: verdict('INTERNAL_ERROR', `slot ${target} stopped running before its commit`),
        });
      }
      return resume;
    case 'Accepted':
    case 'Downloading':
    case 'Verified':
    case 'WaitingForWindow':
    case 'Installing':
    case 'RollingBack':
    case 'ReportingFailure':
    case 'ReportingDownloaded':
    case 'Canceling':
    case 'Done':
      return resume;
  }
}

/** The health-check deadline counts from the switch. */
export function deadlinePatch(record: UpdateRecord, now: number): UpdatePatch {
  return { switchedAt: now, deadlineAt: now + record.document.healthChecks.deadlineSeconds * 1000 };
}

import { describe, expect, it } from 'vitest';
import { parseOtaJobDocument } from '@otafleet/protocol';
import {
  decideRecovery,
  nextUpdateState,
  UPDATE_STATE_NAMES,
  type RecoveryInput,
  type SlotState,
  type UpdateRecord,
  type UpdateStateName,
} from '@otafleet/agent';

const doc = parseOtaJobDocument({
  operation: 'ota.install',
  schemaVersion: 2,
  component: 'application',
  bundle: { name: 'http-service', version: '1.1.0', securityVersion: 2 },
  download: { url: 'http://127.0.0.1:1/b.otab', size: 1000, sha256: 'a'.repeat(64) },
  install: { mode: 'immediate' },
  healthChecks: { deadlineSeconds: 60, requiredPasses: 2, intervalSeconds: 1, checks: [{ kind: 'process' }] },
  rollback: { mode: 'automatic', maxBootAttempts: 3 },
});
if (!doc.ok) throw new Error(doc.error.message);

const NOW = 1_767_225_600_000;
const record = (state: UpdateStateName, extra: Partial<UpdateRecord> = {}): UpdateRecord => ({
  jobId: 'job-1',
  executionNumber: 1,
  state,
  saves: 3,
  starts: 1,
  document: doc.value,
  attempt: 1,
  acceptedAt: NOW - 10_000,
  fromSlot: 'A',
  fromVersion: '1.0.0',
  targetSlot: 'B',
  toVersion: '1.1.0',
  ...extra,
});

const contents = (version: string) => ({
  name: 'http-service',
  version,
  securityVersion: 1,
  manifestSha256: 'b'.repeat(64),
});
/** The slot states a start can find, named as the table below uses them. */
const SLOTS: Record<string, SlotState> = {
  idle: {
    booted: 'A',
    committed: 'A',
    trial: undefined,
    failedTrial: undefined,
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
  armed: {
    booted: 'A',
    committed: 'A',
    trial: { slot: 'B', attempts: 0, maxAttempts: 3 },
    failedTrial: undefined,
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
  'trial running': {
    booted: 'B',
    committed: 'A',
    trial: { slot: 'B', attempts: 1, maxAttempts: 3 },
    failedTrial: undefined,
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
  exhausted: {
    booted: 'A',
    committed: 'A',
    trial: undefined,
    failedTrial: { slot: 'B', attempts: 3, maxAttempts: 3, reason: 'attempts-exhausted' },
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
  'rolled back': {
    booted: 'A',
    committed: 'A',
    trial: undefined,
    failedTrial: { slot: 'B', attempts: 1, maxAttempts: 3, reason: 'rolled-back' },
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
  committed: {
    booted: 'B',
    committed: 'B',
    trial: undefined,
    failedTrial: undefined,
    versions: { A: contents('1.0.0'), B: contents('1.1.0') },
  },
};

type Expect = 'resume' | `${string} -> ${UpdateStateName}`;
/** [journaled state, slots after the boot step, Jobs service status, expected] */
const TABLE: readonly [UpdateStateName, keyof typeof SLOTS, RecoveryInput['jobs'], Expect][] = [
  ['Accepted', 'idle', undefined, 'resume'],
  ['Downloading', 'idle', undefined, 'resume'],
  ['Downloading', 'idle', 'CANCELED', 'Cancel -> Canceling'],
  ['Verified', 'idle', undefined, 'resume'],
  ['WaitingForWindow', 'idle', 'CANCELED', 'Cancel -> Canceling'],
  ['Installing', 'idle', undefined, 'resume'],
  ['Arming', 'idle', undefined, 'resume'],
  ['Arming', 'armed', undefined, 'resume'],
  // directory slots: an agent start is the boot step, so an armed trial starts running at the restart
  ['Arming', 'trial running', undefined, 'Rebooted -> HealthChecking'],
  ['Activating', 'armed', undefined, 'resume'],
  ['Activating', 'trial running', undefined, 'Rebooted -> HealthChecking'],
  ['Activating', 'exhausted', undefined, 'BootFailed -> ReportingFailure'],
  ['Activating', 'trial running', 'CANCELED', 'Cancel -> RollingBack'],
  ['HealthChecking', 'trial running', undefined, 'resume'],
  ['HealthChecking', 'exhausted', undefined, 'BootFailed -> ReportingFailure'],
  ['HealthChecking', 'rolled back', undefined, 'Failure -> RollingBack'],
  ['HealthChecking', 'trial running', 'CANCELED', 'Cancel -> RollingBack'],
  ['HealthChecking', 'trial running', 'TIMED_OUT', 'Cancel -> RollingBack'],
  ['ReportingSuccess', 'trial running', undefined, 'resume'],
  // the SUCCEEDED update was applied but its /accepted was lost in the crash: commit, don't report again
  ['ReportingSuccess', 'trial running', 'SUCCEEDED', 'Success -> Committing'],
  ['ReportingSuccess', 'trial running', 'CANCELED', 'Cancel -> RollingBack'],
  ['ReportingSuccess', 'exhausted', undefined, 'BootFailed -> ReportingFailure'],
  ['Committing', 'trial running', undefined, 'resume'],
  ['Committing', 'committed', undefined, 'resume'],
  ['Committing', 'committed', 'SUCCEEDED', 'resume'],
  ['Committing', 'exhausted', undefined, 'Failure -> RollingBack'],
  ['RollingBack', 'trial running', undefined, 'resume'],
  ['RollingBack', 'rolled back', 'CANCELED', 'resume'],
  ['ReportingFailure', 'rolled back', undefined, 'resume'],
  ['ReportingFailure', 'idle', 'FAILED', 'resume'],
  ['ReportingDownloaded', 'idle', undefined, 'resume'],
  ['Canceling', 'armed', 'CANCELED', 'resume'],
];

const decide = (
  state: UpdateStateName,
  slots: SlotState,
  jobs: RecoveryInput['jobs'],
  extra: Partial<UpdateRecord> = {},
) => decideRecovery({ record: record(state, extra), slots, activation: 'restart', jobs, maxStarts: 10, now: NOW });

describe('recovery: what a starting agent does with the journaled job', () => {
  it.each(TABLE)('%s, slots %s, Jobs %s → %s', (state, slots, jobs, expected) => {
    const decision = decide(state, SLOTS[slots]!, jobs);
    if (expected === 'resume') {
      expect(decision).toEqual({ kind: 'resume' });
      return;
    }
    const [event, next] = expected.split(' -> ');
    expect(decision.kind).toBe('event');
    if (decision.kind !== 'event') return;
    expect(decision.event).toBe(event);
    expect(nextUpdateState(state, decision.event)).toBe(next);
  });

  it('covers every journaled state', () => {
    const covered = new Set(TABLE.map(([s]) => s));
    for (const s of UPDATE_STATE_NAMES.filter((n) => n !== 'Done')) expect(covered.has(s), s).toBe(true);
  });

  it('a trial the bootloader gave up on reports BOOT_FAILED on reboot backends, CRASH_LOOP on directory slots', () => {
    const reboot = decideRecovery({
      record: record('HealthChecking'),
      slots: SLOTS.exhausted!,
      activation: 'reboot',
      maxStarts: 10,
      now: NOW,
    });
    const restart = decide('HealthChecking', SLOTS.exhausted!, undefined);
    expect(reboot.kind === 'event' && reboot.patch.verdict?.reasonCode).toBe('BOOT_FAILED');
    expect(restart.kind === 'event' && restart.patch.verdict?.reasonCode).toBe('CRASH_LOOP');
  });

  it('an agent job whose new agent the launcher gave up on reports AGENT_START_FAILED, whatever the backend', () => {
    const agentJob = record('Activating', { document: { ...doc.value, component: 'agent' } });
    for (const activation of ['reboot', 'restart'] as const) {
      const d = decideRecovery({ record: agentJob, slots: SLOTS.exhausted!, activation, maxStarts: 10, now: NOW });
      expect(d.kind === 'event' && d.event).toBe('BootFailed');
      expect(d.kind === 'event' && d.patch.verdict?.reasonCode).toBe('AGENT_START_FAILED');
      expect(d.kind === 'event' && d.patch.verdict?.reason).toMatch(/^agent slot B was started/);
    }
  });

  it('a trial that started running at the restart gets its deadline from now when none was journaled', () => {
    const d = decide('Arming', SLOTS['trial running']!, undefined);
    expect(d).toEqual({ kind: 'event', event: 'Rebooted', patch: { switchedAt: NOW, deadlineAt: NOW + 60_000 } });
    const kept = decide('Activating', SLOTS['trial running']!, undefined, {
      deadlineAt: NOW + 5_000,
      switchedAt: NOW - 55_000,
    });
    expect(kept).toEqual({ kind: 'event', event: 'Rebooted', patch: {} });
  });

  it('too many starts within one job end it as STATE_LOOP, once', () => {
    const looped = decide('Installing', SLOTS.idle!, undefined, { starts: 11 });
    expect(looped.kind === 'event' && looped.event).toBe('StateLoopDetected');
    expect(looped.kind === 'event' && looped.patch.verdict?.reasonCode).toBe('STATE_LOOP');
    expect(nextUpdateState('Installing', 'StateLoopDetected')).toBe('ReportingFailure');
    const switched = decide('HealthChecking', SLOTS['trial running']!, undefined, { starts: 11 });
    expect(switched.kind === 'event' && nextUpdateState('HealthChecking', switched.event)).toBe('RollingBack');
    // on the way out with the loop already recorded: no second detection
    const out = decide('ReportingFailure', SLOTS.idle!, undefined, {
      starts: 12,
      verdict: { reasonCode: 'STATE_LOOP', reason: 'x' },
    });
    expect(out).toEqual({ kind: 'resume' });
  });
});

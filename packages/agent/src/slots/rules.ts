import { otherSlot } from '@otafleet/protocol';
import { SlotError } from './errors.js';
import { MAX_TRIAL_ATTEMPTS } from './schema.js';
import { SLOT_IDS, type FailedTrial, type SlotId, type SlotState, type SlotTrial } from './types.js';

/**
 * The A/B rules every backend applies, written once: which slot an install may write, when a trial may be
 * armed or committed, and the boot step of the backends whose "bootloader" is the agent itself.
 */

export { otherSlot };

export const isSlotId = (value: unknown): value is SlotId => (SLOT_IDS as readonly unknown[]).includes(value);

export function checkSlotId(value: unknown): SlotId {
  if (!isSlotId(value)) throw new SlotError('SLOT_INVALID_ARGUMENT', `slot must be 'A' or 'B', got ${String(value)}`);
  return value;
}

export function checkMaxAttempts(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TRIAL_ATTEMPTS) {
    throw new SlotError(
      'SLOT_INVALID_ARGUMENT',
      `maxAttempts must be an integer from 1 to ${MAX_TRIAL_ATTEMPTS}, got ${String(value)}`,
    );
  }
  return value;
}

/** True while the trial slot is the one running (health checks decide between commit and rollback). */
export const isTrialRunning = (state: SlotState): boolean =>
  state.trial !== undefined && state.trial.slot === state.booted;

/** The slot an install may write now: neither booted nor committed nor armed; undefined during a trial. */
export function inactiveSlot(state: SlotState): SlotId | undefined {
  if (state.booted !== state.committed) return undefined;
  const other = otherSlot(state.committed);
  return state.trial?.slot === other ? undefined : other;
}

/** Install never touches the running slot, the rollback target, or a slot armed for a trial. */
export function assertInstallTarget(state: SlotState, slot: SlotId): void {
  if (slot === state.booted) throw new SlotError('SLOT_IS_BOOTED', `slot ${slot} is running: install into the other`);
  if (slot === state.committed) {
    throw new SlotError('SLOT_IS_COMMITTED', `slot ${slot} is the committed rollback target: it stays as it is`);
  }
  if (state.trial?.slot === slot) {
    throw new SlotError('SLOT_TRIAL_ARMED', `slot ${slot} is armed for a trial: roll the trial back first`);
  }
}

/**
 * A trial needs an installed, uncommitted slot that is not running. An armed trial that has used no attempt
 * yet may be re-armed (e.g. with another maxAttempts); one that has used attempts must be settled first, so
 * no caller can reset the counter that ends a boot loop.
 */
export function assertArmable(state: SlotState, slot: SlotId, maxAttempts: number): void {
  checkMaxAttempts(maxAttempts);
  if (slot === state.committed) throw new SlotError('SLOT_IS_COMMITTED', `slot ${slot} is already committed`);
  if (state.versions[slot] === undefined) {
    throw new SlotError('SLOT_EMPTY', `slot ${slot} holds no complete release: install one first`);
  }
  if (state.trial !== undefined && (state.trial.attempts > 0 || state.booted === state.trial.slot)) {
    throw new SlotError(
      'SLOT_TRIAL_IN_PROGRESS',
      `a trial of slot ${state.trial.slot} has used ${state.trial.attempts} of ${state.trial.maxAttempts} attempts: commit or roll it back first`,
    );
  }
  if (slot === state.booted) {
    throw new SlotError('SLOT_IS_BOOTED', `slot ${slot} is running uncommitted: activate the rollback first`);
  }
}

/** 'noop' without a trial; a trial must be the running slot to be committed. */
export function commitDecision(state: SlotState): 'noop' | 'commit' {
  if (state.trial === undefined) return 'noop';
  if (state.trial.slot !== state.booted) {
    throw new SlotError(
      'SLOT_TRIAL_NOT_BOOTED',
      `the trial slot ${state.trial.slot} is not running (slot ${state.booted} is): only a booted trial can be committed`,
    );
  }
  return 'commit';
}

export const rolledBack = (trial: SlotTrial): FailedTrial => ({ ...trial, reason: 'rolled-back' });
export const exhausted = (trial: SlotTrial): FailedTrial => ({ ...trial, reason: 'attempts-exhausted' });

/** The part of the state a boot decides on. */
export interface BootRecord {
  readonly committed: SlotId;
  readonly trial: SlotTrial | undefined;
  readonly failedTrial: FailedTrial | undefined;
}

/**
 * One boot/start, as a bootloader with a boot counter does it: an armed trial with attempts left runs (and
 * this start counts); one with none left falls back to the committed slot and is recorded as exhausted.
 */
export function bootStep(record: BootRecord): { readonly record: BootRecord; readonly run: SlotId } {
  const { trial } = record;
  if (trial === undefined) return { record, run: record.committed };
  if (trial.slot === record.committed) {
    // Only reachable by a hand-edited record; the trial is settled already.
    return { record: { ...record, trial: undefined }, run: record.committed };
  }
  if (trial.attempts < trial.maxAttempts) {
    return { record: { ...record, trial: { ...trial, attempts: trial.attempts + 1 } }, run: trial.slot };
  }
  return { record: { ...record, trial: undefined, failedTrial: exhausted(trial) }, run: record.committed };
}

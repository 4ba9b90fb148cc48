import { otaReasonInfo, type LastUpdate, type OtaUpdateResult } from '@otafleet/protocol';
import { accept, download, verified, waitForWindow, type ActionResult } from './actions-prepare.js';
import { reportDownloaded, reportFailure, reportSuccess } from './actions-report.js';
import { activate, arm, cancelJob, checkHealth, commit, install, rollBack } from './actions-switch.js';
import type { UpdateContext } from './context.js';
import { jobUpdate, phaseOf, statusDetailsOf } from './job-status.js';
import type { UpdateRecord } from './record.js';
import type { FlowSignals } from './signals.js';
import type { UpdateStateName } from './states.js';
import { nextUpdateState } from './transitions.js';
import { verdict } from './verdicts.js';

type Action = (ctx: UpdateContext, record: UpdateRecord, signals: FlowSignals) => Promise<ActionResult>;

/** One action per state; Done has none (reaching it ends the job). */
const ACTIONS: Readonly<Record<Exclude<UpdateStateName, 'Done'>, Action>> = {
  Accepted: accept,
  Downloading: download,
  Verified: verified,
  WaitingForWindow: waitForWindow,
  Installing: install,
  Arming: arm,
  Activating: activate,
  HealthChecking: checkHealth,
  ReportingSuccess: reportSuccess,
  Committing: commit,
  RollingBack: rollBack,
  ReportingFailure: reportFailure,
  ReportingDownloaded: reportDownloaded,
  Canceling: cancelJob,
};

/** States that tell the Jobs service their phase (IN_PROGRESS) when entered. */
const REPORTED_ON_ENTRY: ReadonlySet<UpdateStateName> = new Set([
  'Downloading',
  'Installing',
  'Activating',
  'HealthChecking',
  'RollingBack',
]);

/** Extra saves allowed on the way out once a loop was detected, before the flow gives up outright. */
const EXIT_SAVES = 10;

export type FlowEnd =
  | {
      readonly kind: 'done';
      readonly lastUpdate: LastUpdate;
      readonly rolledBack: boolean;
      readonly keepBundle: boolean;
    }
  | { readonly kind: 'stopped' };

/** The step name the crash hook gets for a state: after its journal write, before its action. */
export const stateStep = (state: UpdateStateName): string => `state:${state}`;

/**
 * Runs the job from its journaled state to Done: save the state (the save counter guards against loops), call the
 * crash hook, run the state's action, feed its event to the table. A stop (shutdown) leaves the journal at the
 * state whose action was interrupted; the next start runs it again.
 */
export async function runUpdateFlow(ctx: UpdateContext, start: UpdateRecord, signals: FlowSignals): Promise<FlowEnd> {
  let record = start;
  let previous: UpdateStateName = start.state;
  // A Retry re-runs its state a bounded number of times (the job's maxRetries): those saves are not a loop.
  let retrying = false;
  for (;;) {
    if (record.state === 'Done') return { kind: 'done', ...ending(ctx, record, previous) };
    if (signals.stop.aborted) return { kind: 'stopped' };
    if (record.saves >= ctx.limits.maxStateSaves + EXIT_SAVES) {
      ctx.logger.error({ jobId: record.jobId, state: record.state }, 'state loop on the way out; giving up on the job');
      return {
        kind: 'done',
        ...ending(ctx, { ...record, verdict: verdict('STATE_LOOP', 'the update state machine looped') }, previous),
      };
    }
    if (record.saves >= ctx.limits.maxStateSaves && record.verdict?.reasonCode !== 'STATE_LOOP') {
      const next = nextUpdateState(record.state, 'StateLoopDetected') ?? 'ReportingFailure';
      ctx.logger.error({ jobId: record.jobId, state: record.state, saves: record.saves }, 'state loop detected');
      previous = record.state;
      record = {
        ...record,
        state: next,
        verdict: verdict(
          'STATE_LOOP',
          `${record.saves} state saves in one job (limit ${ctx.limits.maxStateSaves}), last in ${record.state}`,
        ),
      };
      continue;
    }
    record = { ...record, saves: retrying ? record.saves : record.saves + 1 };
    retrying = false;
    await ctx.journal.saveUpdate(record);
    await ctx.onStep(stateStep(record.state));
    const phase = phaseOf(record, ctx.slots.activation);
    ctx.onPhase(record.jobId, phase, record.toVersion === undefined ? {} : { toVersion: record.toVersion });
    if (REPORTED_ON_ENTRY.has(record.state)) {
      await ctx.status.report(jobUpdate(record, 'IN_PROGRESS', statusDetailsOf(record, phase)));
    }
    const state = record.state;
    if (state === 'Done') continue;
    let result: ActionResult;
    if (
      signals.cancel.aborted &&
      nextUpdateState(state, 'Cancel') !== undefined &&
      state !== 'Canceling' &&
      state !== 'RollingBack' &&
      state !== 'ReportingFailure'
    ) {
      result = {
        event: 'Cancel',
        patch: {
          verdict:
            record.verdict?.reasonCode === 'TIMED_OUT' ? record.verdict : verdict('CANCELED', 'the job was canceled'),
        },
      };
    } else {
      try {
        result = await ACTIONS[state](ctx, record, signals);
      } catch (e) {
        ctx.logger.error({ err: e, jobId: record.jobId, state }, 'update action failed unexpectedly');
        result = {
          event: 'Failure',
          patch: { verdict: verdict('INTERNAL_ERROR', `${state}: ${e instanceof Error ? e.message : String(e)}`) },
        };
      }
    }
    if (result === 'stopped') return { kind: 'stopped' };
    const next = nextUpdateState(state, result.event);
    ctx.logger.info(
      { jobId: record.jobId, from: state, event: result.event, to: next ?? '(none)' },
      'update transition',
    );
    previous = state;
    retrying = result.event === 'Retry';
    if (next === undefined) {
      // Not in the table: a programming error. Leave the safe way: roll back if switched, else report.
      const fallback = nextUpdateState(state, 'StateLoopDetected') ?? 'ReportingFailure';
      record = {
        ...record,
        state: fallback,
        verdict: verdict('INTERNAL_ERROR', `no transition for ${result.event} in ${state}`),
      };
      continue;
    }
    record = { ...record, ...result.patch, state: next };
  }
}

/** How the job ended, for lastUpdate. */
function ending(
  ctx: UpdateContext,
  record: UpdateRecord,
  previous: UpdateStateName,
): { lastUpdate: LastUpdate; rolledBack: boolean; keepBundle: boolean } {
  const doc = record.document;
  const v = record.verdict;
  let result: OtaUpdateResult;
  if (previous === 'Committing' && v === undefined) result = 'succeeded';
  else if (previous === 'ReportingDownloaded' && v === undefined) result = 'downloaded';
  else if (v === undefined) result = 'failed';
  else {
    const status = otaReasonInfo(v.reasonCode).executionStatus;
    result =
      status === 'CANCELED'
        ? 'canceled'
        : status === 'REJECTED'
          ? 'rejected'
          : status === 'SUCCEEDED'
            ? 'succeeded'
            : record.switchedAt !== undefined
              ? 'rolled-back'
              : 'failed';
  }
  const code =
    result === 'succeeded' && doc.operation === 'ota.rollback'
      ? 'ROLLED_BACK'
      : (v?.reasonCode ?? (result === 'failed' ? 'INTERNAL_ERROR' : undefined));
  const needsCode = result === 'rejected' || result === 'failed' || result === 'rolled-back';
  const lastUpdate: LastUpdate = {
    jobId: record.jobId,
    operation: doc.operation,
    component: doc.component,
    result,
    ...(code !== undefined && (needsCode || code === 'ROLLED_BACK') ? { reasonCode: code } : {}),
    ...(needsCode && v !== undefined ? { reason: v.reason.slice(0, 512) } : {}),
    ...(record.fromVersion === undefined ? {} : { fromVersion: record.fromVersion }),
    ...(record.toVersion === undefined ? {} : { toVersion: record.toVersion }),
    ...(doc.rolloutId === undefined ? {} : { rolloutId: doc.rolloutId }),
    ...(doc.waveId === undefined ? {} : { waveId: doc.waveId }),
    at: ctx.clock.now(),
  };
  const rolledBack = result === 'rolled-back' || (result === 'succeeded' && doc.operation === 'ota.rollback');
  return { lastUpdate, rolledBack, keepBundle: result === 'downloaded' };
}

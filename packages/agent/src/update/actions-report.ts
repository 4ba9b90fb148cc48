import { otaReasonInfo } from '@otafleet/protocol';
import type { ActionResult } from './actions-prepare.js';
import type { UpdateContext } from './context.js';
import { jobUpdate, statusDetailsOf } from './job-status.js';
import type { UpdateRecord } from './record.js';
import { raceSignals, type FlowSignals } from './signals.js';
import { verdict } from './verdicts.js';

/**
 * ReportingSuccess: SUCCEEDED goes out through the journal; only the Jobs service's acceptance leads to the commit.
 * Found terminal otherwise (canceled meanwhile): roll back. A resend after a crash is reconciled by the reporter
 * (an execution that already holds SUCCEEDED counts as accepted: the answer was lost, not the update).
 */
export async function reportSuccess(
  ctx: UpdateContext,
  record: UpdateRecord,
  signals: FlowSignals,
): Promise<ActionResult> {
  const rollbackJob = record.document.operation === 'ota.rollback';
  const withCode = rollbackJob
    ? {
        ...record,
        verdict: verdict('ROLLED_BACK', record.document.operation === 'ota.rollback' ? record.document.reason : ''),
      }
    : record;
  const id = await ctx.status.report(jobUpdate(record, 'SUCCEEDED', statusDetailsOf(withCode, 'succeeded')));
  const outcome = await raceSignals(ctx.status.delivered(id), {
    stop: signals.stop,
    cancel: new AbortController().signal,
  });
  if (outcome === 'stop' || outcome === 'cancel') return 'stopped';
  if (outcome.kind === 'applied' || outcome.status === 'SUCCEEDED') return { event: 'Success' };
  const code = outcome.status === 'TIMED_OUT' ? 'TIMED_OUT' : 'CANCELED';
  return {
    event: 'Cancel',
    patch: {
      verdict: verdict(
        code,
        `the Jobs service refused SUCCEEDED: the execution is ${outcome.status ?? 'already terminal'}`,
      ),
    },
  };
}

/** ReportingFailure: FAILED or REJECTED with the verdict's code; nothing for a cancel (the service set it). */
export async function reportFailure(
  ctx: UpdateContext,
  record: UpdateRecord,
  signals: FlowSignals,
): Promise<ActionResult> {
  const v = record.verdict ?? verdict('INTERNAL_ERROR', 'the job ended without a recorded reason');
  const status = otaReasonInfo(v.reasonCode).executionStatus;
  if (status !== 'FAILED' && status !== 'REJECTED') return { event: 'Success' };
  const phase = record.switchedAt === undefined ? 'failed' : 'rolled-back';
  const id = await ctx.status.report(jobUpdate(record, status, statusDetailsOf({ ...record, verdict: v }, phase)));
  const outcome = await raceSignals(ctx.status.delivered(id), {
    stop: signals.stop,
    cancel: new AbortController().signal,
  });
  if (outcome === 'stop' || outcome === 'cancel') return 'stopped';
  return { event: 'Success' };
}

/** ReportingDownloaded: a download-only job ends SUCCEEDED with the bundle staged. */
export async function reportDownloaded(
  ctx: UpdateContext,
  record: UpdateRecord,
  signals: FlowSignals,
): Promise<ActionResult> {
  const id = await ctx.status.report(jobUpdate(record, 'SUCCEEDED', statusDetailsOf(record, 'downloaded')));
  const outcome = await raceSignals(ctx.status.delivered(id), {
    stop: signals.stop,
    cancel: new AbortController().signal,
  });
  if (outcome === 'stop' || outcome === 'cancel') return 'stopped';
  if (outcome.kind === 'applied' || outcome.status === 'SUCCEEDED') return { event: 'Success' };
  return {
    event: 'Cancel',
    patch: { verdict: verdict('CANCELED', 'the execution ended before the download was reported') },
  };
}

import type { HealthChecks } from '@otafleet/protocol';
import { isSlotError } from '../slots/index.js';
import { bundleTarget, devicePolicy, type ActionResult } from './actions-prepare.js';
import { rememberCommittedSlot } from './committed-releases.js';
import type { UpdateContext } from './context.js';
import type { UpdateRecord } from './record.js';
import { deadlinePatch } from './recovery.js';
import { forever, raceSignals, type FlowSignals } from './signals.js';
import { verdict, verdictOf } from './verdicts.js';

const cancelled = (what: string): ActionResult => ({
  event: 'Cancel',
  patch: { verdict: verdict('CANCELED', `canceled ${what}`) },
});

/** Installing: writes the verified bundle into the target slot, unless it already holds exactly this release. */
export async function install(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  const target = record.targetSlot;
  const bundlePath = record.bundlePath;
  if (target === undefined || bundlePath === undefined) {
    return { event: 'Failure', patch: { verdict: verdict('INTERNAL_ERROR', 'install without a verified bundle') } };
  }
  const slots = await ctx.slots.state();
  // A crash after the install finished, before this state was left: the slot's record says so; no second install.
  if (record.manifestSha256 !== undefined && slots.versions[target]?.manifestSha256 === record.manifestSha256) {
    ctx.logger.info({ jobId: record.jobId, slot: target }, 'slot already holds this release; not installing again');
    return { event: 'Success' };
  }
  let prepared;
  try {
    prepared = await ctx.installer.prepare({
      jobId: record.jobId,
      bundlePath,
      policy: devicePolicy(ctx, slots, record),
    });
  } catch (e) {
    return { event: 'Failure', patch: { verdict: verdictOf(e, 'INSTALL_FAILED', 'install') } };
  }
  try {
    await ctx.slots.install(target, prepared.source, prepared.contents);
    ctx.logger.info(
      { jobId: record.jobId, slot: target, version: prepared.contents.version, event: 'install' },
      'installed',
    );
    return { event: 'Success' };
  } catch (e) {
    return { event: 'Failure', patch: { verdict: verdictOf(e, 'INSTALL_FAILED', 'install') } };
  } finally {
    await prepared.cleanup().catch((e: unknown) => ctx.logger.warn({ err: e }, 'install leftovers not removed'));
  }
}

/** Arming: the trial of the target slot, with the job's boot attempts; the committed slot stays. */
export async function arm(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  const target = record.targetSlot;
  if (target === undefined)
    return { event: 'Failure', patch: { verdict: verdict('INTERNAL_ERROR', 'no target slot') } };
  try {
    await ctx.slots.armTrial(target, record.document.rollback.maxBootAttempts);
  } catch (e) {
    return { event: 'Failure', patch: { verdict: verdictOf(e, 'SLOT_SWITCH_FAILED', 'switch') } };
  }
  return { event: 'Success', patch: deadlinePatch(record, ctx.clock.now()) };
}

/** Activating: restart (directory slots) or reboot into the trial. A reboot ends this process: wait for it. */
export async function activate(ctx: UpdateContext, record: UpdateRecord, signals: FlowSignals): Promise<ActionResult> {
  try {
    await ctx.slots.activate();
  } catch (e) {
    return { event: 'Failure', patch: { verdict: verdictOf(e, 'SLOT_SWITCH_FAILED', 'switch') } };
  }
  if (ctx.slots.activation === 'reboot') {
    const r = await raceSignals(forever(), signals);
    return r === 'cancel' ? cancelled('while rebooting') : 'stopped';
  }
  const slots = await ctx.slots.state();
  if (slots.booted !== record.targetSlot || slots.trial === undefined) {
    const failed = slots.failedTrial;
    return {
      event: 'Failure',
      patch: {
        verdict: verdict(
          'SLOT_SWITCH_FAILED',
          `after activation slot ${slots.booted} runs, not the trial slot ${record.targetSlot ?? '?'}${failed === undefined ? '' : ` (trial ${failed.reason})`}`,
        ),
      },
    };
  }
  return { event: 'Success' };
}

/** HealthChecking: the job's checks until they pass or the journaled deadline passes. */
export async function checkHealth(
  ctx: UpdateContext,
  record: UpdateRecord,
  signals: FlowSignals,
): Promise<ActionResult> {
  const deadlineAt = record.deadlineAt ?? deadlinePatch(record, ctx.clock.now()).deadlineAt ?? 0;
  const abort = new AbortController();
  const run = ctx.health.run(checksOf(record), { deadlineAt, signal: abort.signal });
  const result = await raceSignals(run, signals);
  if (result === 'stop' || result === 'cancel') {
    abort.abort();
    await run.catch(() => undefined);
    return result === 'stop' ? 'stopped' : cancelled('during the health checks');
  }
  if (result.healthy) return { event: 'Success' };
  if (record.document.component === 'agent' && !ctx.brokerConnected()) {
    return {
      event: 'Failure',
      patch: {
        verdict: verdict('AGENT_START_FAILED', `the new agent is not connected to the broker: ${result.reason}`),
      },
    };
  }
  return { event: 'Failure', patch: { verdict: verdict(result.reasonCode, result.reason) } };
}

/** The job's checks; a new agent must also be connected to the broker (its shadow synced) to pass. */
function checksOf(record: UpdateRecord): HealthChecks {
  const checks = record.document.healthChecks;
  if (record.document.component !== 'agent' || checks.checks.some((c) => c.kind === 'mqtt')) return checks;
  return { ...checks, checks: [...checks.checks, { kind: 'mqtt' }] };
}

/** Committing: makes the trial slot permanent (only reached after the Jobs service accepted SUCCEEDED). */
export async function commit(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  try {
    const after = await ctx.slots.commit();
    if (after.committed !== record.targetSlot) {
      return {
        event: 'Failure',
        patch: {
          verdict: verdict(
            'SLOT_SWITCH_FAILED',
            `slot ${after.committed} is committed, not ${record.targetSlot ?? '?'}`,
          ),
        },
      };
    }
    await rememberCommittedSlot(ctx.journal, after);
    return { event: 'Success' };
  } catch (e) {
    return { event: 'Failure', patch: { verdict: verdictOf(e, 'SLOT_SWITCH_FAILED', 'switch') } };
  }
}

/**
 * RollingBack: disarms the trial and, when the trial slot runs, switches back to the committed one. Repeatable:
 * with nothing armed and the committed slot running it does nothing.
 */
export async function rollBack(ctx: UpdateContext, record: UpdateRecord, signals: FlowSignals): Promise<ActionResult> {
  try {
    let slots = await ctx.slots.state();
    if (slots.trial !== undefined) slots = await ctx.slots.rollback();
    if (slots.booted !== slots.committed) {
      await ctx.slots.activate();
      if (ctx.slots.activation === 'reboot') {
        await raceSignals(forever(), signals);
        return 'stopped';
      }
      slots = await ctx.slots.state();
    }
    if (slots.booted !== slots.committed) {
      return {
        event: 'Failure',
        patch: { verdict: verdict('ROLLBACK_FAILED', `slot ${slots.booted} still runs after the rollback`) },
      };
    }
    return { event: 'Success' };
  } catch (e) {
    const v = verdictOf(e, 'ROLLBACK_FAILED', 'rollback');
    ctx.logger.error({ jobId: record.jobId, err: e }, 'rollback failed');
    // The original reason stays the job's verdict when there is one; the rollback failure is added to it.
    const original = record.verdict;
    return {
      event: 'Failure',
      patch: {
        verdict: verdict(
          'ROLLBACK_FAILED',
          original === undefined ? v.reason : `${original.reasonCode}: ${original.reason}; then ${v.reason}`,
        ),
      },
    };
  }
}

/** Canceling: nothing is reported (the Jobs service ended the execution); what the job left is removed. */
export async function cancelJob(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  try {
    const slots = await ctx.slots.state();
    if (slots.trial !== undefined && slots.trial.slot === record.targetSlot && slots.booted !== slots.trial.slot) {
      await ctx.slots.rollback();
    }
  } catch (e) {
    if (!isSlotError(e)) throw e;
    ctx.logger.warn({ err: e }, 'disarming the canceled trial failed');
  }
  if (bundleTarget(record) !== undefined) await ctx.fetcher.discard(record.jobId);
  return { event: 'Success' };
}

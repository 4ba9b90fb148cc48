import type { DevicePolicy } from '@otafleet/bundle';
import {
  isInsideInstallWindow,
  nextInstallWindow,
  otaReasonInfo,
  otherSlot,
  parseOtaJobDocument,
  type OtaDownload,
} from '@otafleet/protocol';
import semver from 'semver';
import { inactiveSlot, type SlotState } from '../slots/index.js';
import { committedReleases } from './committed-releases.js';
import type { UpdateContext } from './context.js';
import { jobUpdate, statusDetailsOf } from './job-status.js';
import type { UpdatePatch, UpdateRecord } from './record.js';
import { raceSignals, sleepOn, type FlowSignals } from './signals.js';
import type { UpdateEvent } from './states.js';
import { isStopped, verdict, verdictOf } from './verdicts.js';

/** What an action ends with: an event for the table, or "stopped" (shutdown: the journal stays as it is). */
export type ActionResult = { readonly event: UpdateEvent; readonly patch?: UpdatePatch } | 'stopped';

const fail = (reasonCode: Parameters<typeof verdict>[0], reason: string): ActionResult => ({
  event: 'Failure',
  patch: { verdict: verdict(reasonCode, reason) },
});

/** The bundle a job installs (ota.install, or ota.rollback to a bundle), or undefined (previous-slot). */
export function bundleTarget(
  record: UpdateRecord,
): { readonly download: OtaDownload; readonly downgrade: boolean } | undefined {
  const d = record.document;
  if (d.operation === 'ota.install') return { download: d.download, downgrade: false };
  return d.target.kind === 'bundle' ? { download: d.target.download, downgrade: true } : undefined;
}

/** Anti-rollback, hardware and agent version, from the committed slot's release. */
export function devicePolicy(ctx: UpdateContext, slots: SlotState, record: UpdateRecord): DevicePolicy {
  const installed = slots.versions[slots.committed];
  return {
    hardware: ctx.device.hardwareType,
    agentVersion: ctx.device.agentVersion,
    ...(installed === undefined
      ? {}
      : { installed: { version: installed.version, securityVersion: installed.securityVersion } }),
    ...(bundleTarget(record)?.downgrade === true ? { allowDowngrade: true } : {}),
  };
}

/** Accepted: the checks that need no download. Nothing is written anywhere but the journal. */
export async function accept(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  const slots = await ctx.slots.state();
  const doc = record.document;
  if (doc.component !== ctx.component) {
    return fail(
      'UNSUPPORTED_COMPONENT',
      doc.component === 'agent'
        ? 'this agent does not run under the self-update launcher (no agent slots): it cannot update itself'
        : `this update flow serves the ${ctx.component}, not the ${doc.component}`,
    );
  }
  const installed = slots.versions[slots.committed];
  const range = doc.precondition?.installedVersion;
  if (range !== undefined && (installed === undefined || !semver.satisfies(installed.version, range))) {
    return fail('PRECONDITION_FAILED', `installed ${installed?.version ?? 'nothing'} does not satisfy ${range}`);
  }
  if (doc.operation === 'ota.rollback' && doc.target.kind === 'previous-slot') {
    const previous = otherSlot(slots.committed);
    const held = slots.versions[previous];
    if (held === undefined || slots.trial !== undefined) {
      return fail('ROLLBACK_UNAVAILABLE', `slot ${previous} holds no release to go back to`);
    }
    if (!(await committedReleases(ctx.journal)).includes(held.manifestSha256)) {
      return fail(
        'ROLLBACK_UNAVAILABLE',
        `slot ${previous} holds ${held.version}, which was never committed on this device`,
      );
    }
    const expected = doc.target.expectedVersion;
    if (expected !== undefined && held.version !== expected) {
      return fail('ROLLBACK_UNAVAILABLE', `slot ${previous} holds ${held.version}, not the expected ${expected}`);
    }
    return { event: 'SkipDownload', patch: { targetSlot: previous, toVersion: held.version } };
  }
  const target = inactiveSlot(slots);
  if (target === undefined) {
    return fail(
      'INSTALL_FAILED',
      `no slot to install into: a trial of slot ${slots.trial?.slot ?? '?'} is not settled`,
    );
  }
  const bundle =
    doc.operation === 'ota.install' ? doc.bundle : doc.target.kind === 'bundle' ? doc.target.bundle : undefined;
  return {
    event: 'Success',
    patch: { targetSlot: target, ...(bundle === undefined ? {} : { toVersion: bundle.version }) },
  };
}

/** Re-reads the job document for a fresh presigned URL. */
async function refreshedUrl(ctx: UpdateContext, record: UpdateRecord): Promise<string> {
  ctx.logger.info({ jobId: record.jobId }, 'download URL refused as expired: re-reading the job document');
  const parsed = parseOtaJobDocument(await ctx.status.describeDocument(record.jobId));
  if (!parsed.ok) throw new Error(`the refreshed job document is unusable: ${parsed.error.message}`);
  const d = parsed.value;
  const url =
    d.operation === 'ota.install' ? d.download.url : d.target.kind === 'bundle' ? d.target.download.url : undefined;
  if (url === undefined) throw new Error('the refreshed job document has no download');
  return url;
}

/** Downloading: download and verify in one pass, resuming from the journaled offset. */
export async function download(ctx: UpdateContext, record: UpdateRecord, signals: FlowSignals): Promise<ActionResult> {
  const target = bundleTarget(record);
  if (target === undefined) return fail('INTERNAL_ERROR', 'nothing to download for this job');
  const slots = await ctx.slots.state();
  let lastAt = -Infinity;
  let lastPercent = -Infinity;
  const cancel = new AbortController();
  const stop = new AbortController();
  const onCancel = (): void => cancel.abort();
  const onStop = (): void => stop.abort();
  signals.cancel.addEventListener('abort', onCancel, { once: true });
  signals.stop.addEventListener('abort', onStop, { once: true });
  try {
    const fetched = await ctx.fetcher.fetch({
      jobId: record.jobId,
      download: target.download,
      policy: devicePolicy(ctx, slots, record),
      signal: cancel.signal,
      stopSignal: stop.signal,
      refreshUrl: () => refreshedUrl(ctx, record),
      onProgress: (bytes, total) => {
        const percent = Math.floor((bytes / total) * 100);
        const now = ctx.clock.now();
        ctx.onPhase(record.jobId, 'downloading', { progress: percent, ...toVersion(record) });
        if (now - lastAt < ctx.limits.progressIntervalMs || percent - lastPercent < ctx.limits.progressPercentStep)
          return;
        lastAt = now;
        lastPercent = percent;
        const details = statusDetailsOf(record, 'downloading', {
          bytesDownloaded: bytes,
          bytesTotal: total,
          progress: percent,
        });
        ctx.status.report(jobUpdate(record, 'IN_PROGRESS', details)).catch((e: unknown) => {
          ctx.logger.warn({ err: e }, 'progress report not journaled');
        });
      },
    });
    return {
      event: 'Success',
      patch: { bundlePath: fetched.path, manifestSha256: fetched.manifestSha256, toVersion: fetched.version },
    };
  } catch (e) {
    if (isStopped(e) || signals.stop.aborted) return 'stopped';
    if (signals.cancel.aborted)
      return { event: 'Cancel', patch: { verdict: verdict('CANCELED', 'canceled during the download') } };
    const v = verdictOf(e, 'DOWNLOAD_FAILED');
    const maxRetries = target.download.maxRetries ?? ctx.limits.defaultMaxRetries;
    if (otaReasonInfo(v.reasonCode).retryable && record.attempt <= maxRetries) {
      ctx.logger.warn(
        { jobId: record.jobId, attempt: record.attempt, reasonCode: v.reasonCode },
        'download failed; retrying',
      );
      const waited = await sleepOn(ctx.clock, Math.min(60_000, 1_000 * 2 ** (record.attempt - 1)), signals);
      if (waited === 'stop') return 'stopped';
      if (waited === 'cancel')
        return { event: 'Cancel', patch: { verdict: verdict('CANCELED', 'canceled during the download') } };
      return { event: 'Retry', patch: { attempt: record.attempt + 1 } };
    }
    return { event: 'Failure', patch: { verdict: v } };
  } finally {
    signals.cancel.removeEventListener('abort', onCancel);
    signals.stop.removeEventListener('abort', onStop);
  }
}

const toVersion = (r: UpdateRecord): { toVersion?: string } =>
  r.toVersion === undefined ? {} : { toVersion: r.toVersion };

/** Verified: where the install mode sends the job. */
export function verified(ctx: UpdateContext, record: UpdateRecord): Promise<ActionResult> {
  const doc = record.document;
  const mode = doc.operation === 'ota.install' ? doc.install.mode : 'immediate';
  if (mode === 'download-only') return Promise.resolve({ event: 'DownloadOnly', patch: { attempt: 1 } });
  if (
    doc.operation === 'ota.install' &&
    doc.install.mode === 'window' &&
    !isInsideInstallWindow(doc.install.window, ctx.clock.now())
  ) {
    return Promise.resolve({ event: 'Wait', patch: { attempt: 1 } });
  }
  return Promise.resolve({ event: 'Success', patch: { attempt: 1 } });
}

/** WaitingForWindow: sleeps until the next opening (a restart recomputes it from the clock). */
export async function waitForWindow(
  ctx: UpdateContext,
  record: UpdateRecord,
  signals: FlowSignals,
): Promise<ActionResult> {
  const doc = record.document;
  if (doc.operation !== 'ota.install' || doc.install.mode !== 'window') return { event: 'Success' };
  const window = doc.install.window;
  for (;;) {
    const now = ctx.clock.now();
    if (isInsideInstallWindow(window, now)) return { event: 'Success' };
    // Wake at least hourly: a device clock that jumps (NTP) is read again.
    const waited = await raceSignals(
      sleepOn(ctx.clock, Math.min(3_600_000, nextInstallWindow(window, now).start - now), signals),
      signals,
    );
    if (waited === 'stop') return 'stopped';
    if (waited === 'cancel')
      return {
        event: 'Cancel',
        patch: { verdict: verdict('CANCELED', 'canceled while waiting for the install window') },
      };
  }
}

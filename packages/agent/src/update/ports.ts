import type { DevicePolicy } from '@otafleet/bundle';
import type { OtaDownload } from '@otafleet/protocol';
import type { Clock } from '@otafleet/mqtt-client';
import type { InstallSource, SlotContents } from '../slots/index.js';

/**
 * What the update flow needs from outside, as interfaces: the agent wires the real ones (HTTP download, bundle
 * unpacking), the simulator its virtual ones. Failures are errors with a `code` that is an OTA reason code
 * (`BUNDLE_*` included), or `DOWNLOAD_STOPPED` for a download stopped by shutdown.
 */

/** Time for the update flow: `now()` is epoch milliseconds (deadlines are journaled as such). */
export type AgentClock = Clock;

export const systemAgentClock: AgentClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as ReturnType<Clock['setTimeout']>,
  clearTimeout: (h) => globalThis.clearTimeout(h as unknown as ReturnType<typeof globalThis.setTimeout>),
};

/** A downloaded bundle whose signature, manifest and device policy checked out. */
export interface FetchedBundle {
  readonly path: string;
  readonly manifestSha256: string;
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
}

export interface FetchRequest {
  readonly jobId: string;
  readonly download: OtaDownload;
  readonly policy: DevicePolicy;
  /** Aborted: the job was canceled (partial file and offset removed). */
  readonly signal: AbortSignal;
  /** Aborted: the agent is shutting down (what arrived is kept; the next run resumes). */
  readonly stopSignal: AbortSignal;
  readonly onProgress: (bytes: number, total: number) => void;
  /** A fresh URL when the current one is refused as expired (re-reads the job document). */
  readonly refreshUrl: () => Promise<string>;
}

export interface BundleFetcher {
  fetch(request: FetchRequest): Promise<FetchedBundle>;
  /** Removes what a job downloaded (partial or whole file, and its offset). */
  discard(jobId: string): Promise<void>;
}

/** Turns a verified bundle file into what the slot backend installs. */
export interface PreparedInstall {
  readonly source: InstallSource;
  readonly contents: SlotContents;
  /** Removes what prepare left (call after install, success or not). */
  cleanup(): Promise<void>;
}

export interface BundleInstaller {
  prepare(request: {
    readonly jobId: string;
    readonly bundlePath: string;
    readonly policy: DevicePolicy;
  }): Promise<PreparedInstall>;
}

/** Called after each journal write and before its action (`state:<Name>`), and at each slot step. */
export type StepHook = (step: string) => void | Promise<void>;

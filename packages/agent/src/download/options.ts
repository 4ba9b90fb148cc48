import { pino, type Logger } from 'pino';
import { systemClock } from '@otafleet/mqtt-client';
import { DOWNLOAD_BACKOFF, type DownloadBackoff } from './backoff.js';
import type { Clock } from './clock.js';
import { DownloadError, type DownloadErrorCode } from './errors.js';
import type { DownloadTlsOptions } from './http-get.js';
import { looksLikeExpiredUrl } from './http-response.js';
import type { DownloadProgressStore } from './progress-store.js';

export interface DownloadOptions {
  /** http: or https: URL of the bundle (the job document's `download.url`, presigned by AWS IoT Jobs). */
  readonly url: string;
  /**
   * Gives a fresh URL when the current one is refused as expired (the agent re-reads its job document,
   * whose presigned URL AWS IoT Jobs renews); the download continues at the same offset. Without it an
   * expired URL fails the download with DOWNLOAD_URL_EXPIRED.
   */
  readonly refreshUrl?: () => Promise<string>;
  /** The job document's `download.size` and `download.sha256` (of the whole file). */
  readonly expectedSize: number;
  readonly expectedSha256: string;
  /** The file written. Its directory must be writable; the file itself is created if missing. */
  readonly partialPath: string;
  /** Where the resume offset is kept (the agent's SQLite journal; `createFileProgressStore` for tests and the CLI). */
  readonly progressStore: DownloadProgressStore;
  readonly maxBandwidthBytesPerSecond?: number;
  /** Failed attempts in a row without new bytes before DOWNLOAD_FAILED (default 5: 6 attempts). */
  readonly maxRetries?: number;
  /** Retry waits: random() × min(capMs, baseMs × 2^n); default 1 s base, 60 s cap. */
  readonly backoff?: Partial<DownloadBackoff>;
  /** In [0, 1); defaults to Math.random. */
  readonly random?: () => number;
  readonly clock?: Clock;
  /** Cancels: the request stops, the partial file and the saved offset are deleted, CANCELED is thrown. */
  readonly signal?: AbortSignal;
  /**
   * Stops for now (agent shutdown): the request stops, what arrived is synced and its offset saved, the
   * partial file is kept, DOWNLOAD_STOPPED is thrown. The next run resumes from there.
   */
  readonly stopSignal?: AbortSignal;
  /** Bytes on disk and the total, at most once per `progressIntervalMs` and once at the end. */
  readonly onProgress?: (bytes: number, total: number) => void;
  readonly progressIntervalMs?: number;
  /** fdatasync (then save the offset) after this many new bytes (default 8 MiB): the most a power cut can cost. */
  readonly syncEveryBytes?: number;
  /** More bytes needed on the partial file's file system besides the bundle itself (a reserve, unpacking room). */
  readonly requiredExtraBytes?: number;
  readonly tls?: DownloadTlsOptions;
  /** Whether a 400/401/403 answer means "expired URL, refresh it" (default: `looksLikeExpiredUrl`). */
  readonly isExpiredUrl?: (status: number, body: string) => boolean;
  /** Fresh URLs in a row, without new bytes, that may be refused before DOWNLOAD_URL_EXPIRED (default 3). */
  readonly maxUrlRefreshes?: number;
  /** A connection silent this long (while bytes are awaited) is dropped and retried (default 30 s). */
  readonly idleTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ResolvedDownloadOptions {
  readonly url: URL;
  readonly refreshUrl: (() => Promise<string>) | undefined;
  readonly expectedSize: number;
  readonly expectedSha256: string;
  readonly partialPath: string;
  readonly progressStore: DownloadProgressStore;
  readonly maxBandwidthBytesPerSecond: number | undefined;
  readonly maxRetries: number;
  readonly backoff: DownloadBackoff;
  readonly random: () => number;
  readonly clock: Clock;
  readonly signal: AbortSignal | undefined;
  readonly stopSignal: AbortSignal | undefined;
  /** Fires on either: what the network side listens to. */
  readonly interrupt: AbortSignal | undefined;
  readonly onProgress: ((bytes: number, total: number) => void) | undefined;
  readonly progressIntervalMs: number;
  readonly syncEveryBytes: number;
  readonly requiredExtraBytes: number;
  readonly tls: DownloadTlsOptions | undefined;
  readonly isExpiredUrl: (status: number, body: string) => boolean;
  readonly maxUrlRefreshes: number;
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
}

const MIN_SYNC_BYTES = 64 * 1024;

/** Options that carry the job document's own fields: a bad value there is the job's fault. */
const JOB_DOCUMENT_OPTIONS = new Set(['url', 'expectedSize', 'expectedSha256']);

function invalid(option: string, what: string, code?: DownloadErrorCode): DownloadError {
  const reason = code ?? (JOB_DOCUMENT_OPTIONS.has(option) ? 'INVALID_JOB_DOCUMENT' : 'INTERNAL_ERROR');
  return new DownloadError(reason, `Invalid download option ${option}: ${what}.`);
}

function count(option: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw invalid(option, `give an integer ≥ ${min} (got ${v})`);
  return v;
}

/** A bundle URL as the downloader accepts it: absolute http: or https:. */
export function parseBundleUrl(value: string, option = 'url', code?: DownloadErrorCode): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(option, `${JSON.stringify(value.slice(0, 200))} is not an absolute URL`, code);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(option, `use http: or https:, not ${url.protocol}`, code);
  }
  return url;
}

/** Checks every option once and fills in the defaults. A bad option fails here, before anything is touched. */
export function resolveDownloadOptions(o: DownloadOptions): ResolvedDownloadOptions {
  const url = parseBundleUrl(o.url);
  const expectedSize = count('expectedSize', o.expectedSize, 0, 1);
  const expectedSha256 = o.expectedSha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expectedSha256)) throw invalid('expectedSha256', 'give 64 hex digits');
  if (o.partialPath.length === 0) throw invalid('partialPath', 'give a file path');
  const rate = o.maxBandwidthBytesPerSecond;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw invalid('maxBandwidthBytesPerSecond', `give a positive number of bytes per second (got ${rate})`);
  }
  const backoff = { ...DOWNLOAD_BACKOFF, ...o.backoff };
  if (!(Number.isFinite(backoff.baseMs) && backoff.baseMs > 0 && backoff.capMs >= backoff.baseMs)) {
    throw invalid('backoff', 'need 0 < baseMs ≤ capMs');
  }
  return {
    url,
    refreshUrl: o.refreshUrl,
    expectedSize,
    expectedSha256,
    partialPath: o.partialPath,
    progressStore: o.progressStore,
    maxBandwidthBytesPerSecond: rate,
    maxRetries: count('maxRetries', o.maxRetries, 5, 0),
    backoff,
    random: o.random ?? Math.random,
    clock: o.clock ?? systemClock,
    signal: o.signal,
    stopSignal: o.stopSignal,
    interrupt: anyOf(o.signal, o.stopSignal),
    onProgress: o.onProgress,
    progressIntervalMs: count('progressIntervalMs', o.progressIntervalMs, 1_000, 0),
    syncEveryBytes: count('syncEveryBytes', o.syncEveryBytes, 8 * 1024 * 1024, MIN_SYNC_BYTES),
    requiredExtraBytes: count('requiredExtraBytes', o.requiredExtraBytes, 0, 0),
    tls: o.tls,
    isExpiredUrl: o.isExpiredUrl ?? looksLikeExpiredUrl,
    maxUrlRefreshes: count('maxUrlRefreshes', o.maxUrlRefreshes, 3, 0),
    idleTimeoutMs: count('idleTimeoutMs', o.idleTimeoutMs, 30_000, 1),
    logger: o.logger ?? pino({ name: 'ota-download' }),
  };
}

function anyOf(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}

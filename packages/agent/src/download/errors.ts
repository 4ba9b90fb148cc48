import { isBundleError, type BundleErrorCode } from '@otafleet/bundle';
import { otaReasonInfo, type OtaReasonCode } from '@otafleet/protocol';

/**
 * Why a download was given up: the OTA reason codes the agent reports in its job status (`OTA_REASON_CODES` of
 * `@otafleet/protocol`, where each code's meaning and retry policy are written), the bundle library's
 * `BUNDLE_*` refusals passed through unchanged, and DOWNLOAD_STOPPED, which is never reported.
 */
export const DOWNLOAD_ERROR_CODES = [
  /** Transient failures (network, 5xx, 408, 429, a server that cannot continue consistently) outlasted the retries. */
  'DOWNLOAD_FAILED',
  /** The server or its TLS certificate was refused, or it refused us (4xx other than an expired URL, bad redirects). */
  'DOWNLOAD_REFUSED',
  /** The server's Content-Length / Content-Range total, or the bytes it sent, disagree with the job's size. */
  'DOWNLOAD_SIZE_MISMATCH',
  /** The whole file's SHA-256 is not the job's. */
  'DOWNLOAD_DIGEST_MISMATCH',
  /** The presigned URL was refused as expired and no fresh one could be had. */
  'DOWNLOAD_URL_EXPIRED',
  /** Not enough free space for the bundle (checked before a byte is written), or ENOSPC while writing. */
  'INSUFFICIENT_SPACE',
  /** The caller's AbortSignal fired; the partial file and the saved offset are gone. */
  'CANCELED',
  /** A job document field given to the downloader is unusable (URL scheme, size, digest). */
  'INVALID_JOB_DOCUMENT',
  /** The agent passed an unusable option (a bug, not the job's fault). */
  'INTERNAL_ERROR',
  /**
   * Not a failure and never reported: the agent stopped the download (`stopSignal`, e.g. on SIGTERM); every
   * byte received was synced and its offset saved, so the next run resumes there.
   */
  'DOWNLOAD_STOPPED',
] as const satisfies readonly (OtaReasonCode | 'DOWNLOAD_STOPPED')[];

export type DownloadFailureCode = (typeof DOWNLOAD_ERROR_CODES)[number];
export type DownloadErrorCode = DownloadFailureCode | BundleErrorCode;

/**
 * The one error a download rejects with. Callers branch on `code` (stable), never on `message`.
 * `retryable` is the protocol's verdict for the code (`otaReasonInfo`): whether the same job may succeed if
 * tried again. Whether the partial file is kept is the downloader's own call (kept unless its bytes are known
 * to be wrong, or the download was canceled).
 */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  readonly code: DownloadErrorCode;
  readonly retryable: boolean;

  constructor(code: DownloadErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = code === 'DOWNLOAD_STOPPED' || otaReasonInfo(code).retryable;
  }
}

export function isDownloadError(e: unknown): e is DownloadError {
  return e instanceof DownloadError;
}

/**
 * Any failure as a DownloadError: the download's own error when a consumer (the bundle verifier) only
 * wrapped it, a bundle refusal with its `BUNDLE_*` code, anything else as DOWNLOAD_FAILED.
 */
export function asDownloadError(e: unknown): DownloadError {
  if (e instanceof DownloadError) return e;
  if (isBundleError(e)) {
    if (e.cause instanceof DownloadError) return e.cause;
    return new DownloadError(e.code, e.message, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new DownloadError('DOWNLOAD_FAILED', message, { cause: e });
}

const SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** A local file-system failure while writing the partial file or the offset. */
export function localIoError(what: string, e: unknown): DownloadError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code !== undefined && SPACE_ERRNOS.has(code)) {
    return new DownloadError('INSUFFICIENT_SPACE', `${what}: ${detail}`, { cause: e });
  }
  return new DownloadError('DOWNLOAD_FAILED', `${what}: ${detail}`, { cause: e });
}

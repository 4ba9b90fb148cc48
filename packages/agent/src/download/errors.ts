import { isBundleError, type BundleErrorCode } from '@otafleet/bundle';

/**
 * Why a download was given up. The names are the OTA reason codes the agent reports in its job status
 * (`OTA_REASON_CODES` in `@otafleet/protocol`); the bundle library's `BUNDLE_*` refusals pass through unchanged.
 */
export const DOWNLOAD_ERROR_CODES = [
  /** Transient failures (network, 5xx) outlasted the retries, or the server answered in a way no retry fixes. */
  'DOWNLOAD_FAILED',
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
  /**
   * Not a failure and never reported: the agent stopped the download (`stopSignal`, e.g. on SIGTERM); every
   * byte received was synced and its offset saved, so the next run resumes there.
   */
  'DOWNLOAD_STOPPED',
] as const;

export type DownloadFailureCode = (typeof DOWNLOAD_ERROR_CODES)[number];
export type DownloadErrorCode = DownloadFailureCode | BundleErrorCode;

/**
 * The one error a download rejects with. Callers branch on `code` (stable), never on `message`.
 * `retryable`: the same download may succeed later (the partial file and offset are kept for it);
 * false means the bundle, the job document or the configuration must change first (the partial is deleted
 * when its bytes are known to be wrong).
 */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  readonly code: DownloadErrorCode;
  readonly retryable: boolean;

  constructor(code: DownloadErrorCode, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable;
  }
}

export function isDownloadError(e: unknown): e is DownloadError {
  return e instanceof DownloadError;
}

/**
 * Any failure as a DownloadError: the download's own error when a consumer (the bundle verifier) only
 * wrapped it, a bundle refusal with its `BUNDLE_*` code (final: the same bytes would be refused again,
 * except a local I/O error in the work dir), anything else as a retryable DOWNLOAD_FAILED.
 */
export function asDownloadError(e: unknown): DownloadError {
  if (e instanceof DownloadError) return e;
  if (isBundleError(e)) {
    if (e.cause instanceof DownloadError) return e.cause;
    return new DownloadError(e.code, e.message, { retryable: e.code === 'BUNDLE_IO_ERROR', cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new DownloadError('DOWNLOAD_FAILED', message, { retryable: true, cause: e });
}

const SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** A local file-system failure while writing the partial file or the offset. */
export function localIoError(what: string, e: unknown): DownloadError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code !== undefined && SPACE_ERRNOS.has(code)) {
    return new DownloadError('INSUFFICIENT_SPACE', `${what}: ${detail}`, { retryable: true, cause: e });
  }
  return new DownloadError('DOWNLOAD_FAILED', `${what}: ${detail}`, { retryable: true, cause: e });
}

export {
  DownloadError,
  DOWNLOAD_ERROR_CODES,
  isDownloadError,
  type DownloadErrorCode,
  type DownloadFailureCode,
} from './errors.js';
export { DOWNLOAD_BACKOFF, type DownloadBackoff } from './backoff.js';
export { TokenBucket } from './rate-limiter.js';
export { createFileProgressStore, type DownloadProgressStore } from './progress-store.js';
export { checkFreeSpace, type SpaceNeed, type FreeSpaceProbe } from './free-space.js';
export { looksLikeExpiredUrl } from './http-response.js';
export type { DownloadTlsOptions } from './http-get.js';
export type { DownloadOptions } from './options.js';
export { downloadBundle, downloadThrough, type DownloadResult, type FileConsumer } from './download.js';
export { downloadAndVerifyBundle, type DownloadAndVerifyOptions, type DownloadedBundle } from './verify-download.js';

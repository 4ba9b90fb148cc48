import { DownloadError } from './errors.js';
import type { ResolvedDownloadOptions } from './options.js';

export function canceled(reason: unknown): DownloadError {
  return new DownloadError('CANCELED', 'download canceled', { cause: reason });
}

/** CANCELED or DOWNLOAD_STOPPED if the caller asked for either (cancel wins), else null. */
export function interruption(o: Pick<ResolvedDownloadOptions, 'signal' | 'stopSignal'>): DownloadError | null {
  if (o.signal?.aborted === true) return canceled(o.signal.reason);
  if (o.stopSignal?.aborted === true) {
    return new DownloadError('DOWNLOAD_STOPPED', 'download stopped; it resumes from the saved offset', {
      cause: o.stopSignal.reason,
    });
  }
  return null;
}

/** `promise`, or a rejection as soon as `signal` fires (the refresh itself cannot be called off). */
export function untilInterrupted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('interrupted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

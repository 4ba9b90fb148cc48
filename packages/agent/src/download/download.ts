import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asDownloadError, localIoError, type DownloadError, type DownloadErrorCode } from './errors.js';
import { checkFreeSpace, type SpaceNeed } from './free-space.js';
import { resolveDownloadOptions, type DownloadOptions, type ResolvedDownloadOptions } from './options.js';
import { PartialFile } from './partial-file.js';
import { interruption } from './interrupt.js';
import { DownloadSession } from './session.js';

export interface DownloadResult {
  /** The complete file (`partialPath`), its size and SHA-256 (both as the job says: they were checked). */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** The saved offset this run continued from (0: from scratch). */
  readonly resumedFrom: number;
  /** Bytes that came over the network in this run. */
  readonly networkBytes: number;
  readonly requests: number;
  /** Times the server made the file start over from byte 0 (ignored Range, or could not continue). */
  readonly restartsFromZero: number;
  readonly urlRefreshes: number;
}

/**
 * Reads the whole file from byte 0, once: what is already on disk (read back), then the network's bytes
 * as they arrive. If the server forces a restart from byte 0 after bytes were handed on, the iterable
 * throws and `consume` is called again with a new one (a verifier must start over too). A chunk is valid only
 * until the next one is requested (replayed bytes share one buffer): copy what must be kept.
 */
export type FileConsumer<T> = (file: AsyncIterable<Uint8Array>) => Promise<T>;

/** Downloads the bundle to `partialPath`, resuming from the saved offset; see DownloadOptions. */
export async function downloadBundle(options: DownloadOptions): Promise<DownloadResult> {
  const { download } = await downloadThrough(options, drain);
  return download;
}

/**
 * `downloadBundle` that also streams the complete file, from byte 0, through `consume` in the same pass
 * (a bundle verifier), so nothing is read twice. A rejection of `consume` fails the download: a bundle
 * refusal (`BUNDLE_*`) deletes the partial file and the offset. `extraSpace` adds free-space needs
 * elsewhere (where `consume` writes), checked together with the download's own before a byte is written.
 */
export async function downloadThrough<T>(
  options: DownloadOptions,
  consume: FileConsumer<T>,
  extraSpace: readonly SpaceNeed[] = [],
): Promise<{ readonly download: DownloadResult; readonly consumed: T }> {
  const o = resolveDownloadOptions(options);
  const early = interruption(o);
  if (early !== null) {
    if (early.code === 'CANCELED') await discard(o);
    throw early;
  }
  const resumedFrom = await trustedOffset(o);
  await checkFreeSpace([
    { path: o.partialPath, bytes: o.expectedSize - resumedFrom + o.requiredExtraBytes },
    ...extraSpace,
  ]);
  try {
    await mkdir(dirname(o.partialPath), { recursive: true });
  } catch (e) {
    throw localIoError(`cannot create the directory of ${o.partialPath}`, e);
  }
  const file = await PartialFile.open(o.partialPath, resumedFrom);
  const session = new DownloadSession(o, file);
  try {
    const consumed = await runPasses(session, consume);
    const result: DownloadResult = {
      path: o.partialPath,
      size: o.expectedSize,
      sha256: o.expectedSha256,
      resumedFrom,
      networkBytes: session.networkBytes,
      requests: session.requests,
      restartsFromZero: session.restartsFromZero,
      urlRefreshes: session.urlRefreshes,
    };
    return { download: result, consumed };
  } catch (e) {
    // Whatever surfaced (a destroyed socket, a wrapped verifier error), a cancel or stop asked for is what happened.
    const error = interruption(o) ?? asDownloadError(e);
    session.dispose();
    await session.settle();
    if (error.code === 'DOWNLOAD_STOPPED') await keepProgress(o, file);
    await file.close();
    if (bytesAreUnwanted(error)) await discard(o);
    if (error.code === 'DOWNLOAD_STOPPED') o.logger.info({ offset: file.length }, 'download stopped');
    else o.logger.warn({ code: error.code, retryable: error.retryable, err: error.message }, 'download failed');
    throw error;
  } finally {
    session.dispose();
    await file.close();
  }
}

/** Thrown by a pass whose bytes were handed on when the file restarted from byte 0. */
class PassRestart extends Error {
  override readonly name = 'PassRestart';
}

async function runPasses<T>(session: DownloadSession, consume: FileConsumer<T>): Promise<T> {
  for (;;) {
    const pass = { error: undefined as unknown };
    let consumed: T;
    try {
      consumed = await consume(filePass(session, pass));
    } catch (e) {
      if (pass.error instanceof PassRestart) continue;
      throw asDownloadError(pass.error ?? e);
    }
    // A consumer that stopped early still gets a complete, checked file.
    while (!session.completed) {
      try {
        await drain(filePass(session, { error: undefined }));
      } catch (e) {
        if (!(e instanceof PassRestart)) throw e;
      }
    }
    return consumed;
  }
}

/** The file from byte 0: the bytes on disk below where the network continues, then the network's. */
async function* filePass(session: DownloadSession, pass: { error: unknown }): AsyncGenerator<Uint8Array> {
  try {
    const hash = createHash('sha256');
    let handedOn = 0;
    // Connect first: if the server cannot continue at the offset, the bytes on disk are not read in vain.
    await session.ensureConnected();
    let epoch = session.epoch;
    for await (const chunk of session.file.replay(session.offset)) {
      hash.update(chunk);
      handedOn += chunk.byteLength;
      yield chunk;
    }
    for (;;) {
      const step = await session.next();
      if (step === null) break;
      if (step === 'restarted') {
        if (handedOn > 0) throw new PassRestart('the file restarted from byte 0');
        epoch = session.epoch;
        continue;
      }
      if (session.epoch !== epoch) throw new PassRestart('the file restarted from byte 0');
      hash.update(step);
      handedOn += step.byteLength;
      yield step;
    }
    await session.complete(hash.digest('hex'));
  } catch (e) {
    pass.error = e;
    throw e;
  }
}

async function drain(file: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of file) {
    // Only the download's own hashing and writing.
  }
}

/**
 * The saved offset, if the partial file still holds that many bytes (bytes past it are cut off later:
 * they were never synced). Anything inconsistent means starting from byte 0, which is always safe.
 */
async function trustedOffset(o: ResolvedDownloadOptions): Promise<number> {
  let saved: number | undefined;
  try {
    saved = await o.progressStore.load();
  } catch (e) {
    throw localIoError('cannot load the saved offset', e);
  }
  if (saved === undefined || saved === 0) return 0;
  let onDisk = 0;
  try {
    onDisk = (await stat(o.partialPath)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw localIoError(`cannot stat ${o.partialPath}`, e);
  }
  if (saved > onDisk || saved > o.expectedSize) {
    o.logger.warn(
      { saved, onDisk, expectedSize: o.expectedSize },
      'saved offset does not fit the partial file: starting over',
    );
    return 0;
  }
  return saved;
}

/** Failures after which the bytes on disk may still be the job's: kept, so a later attempt resumes. */
const KEEP_PARTIAL_AFTER: ReadonlySet<DownloadErrorCode> = new Set([
  'DOWNLOAD_FAILED',
  'DOWNLOAD_REFUSED',
  'DOWNLOAD_URL_EXPIRED',
  'INVALID_JOB_DOCUMENT',
  'INTERNAL_ERROR',
  'INSUFFICIENT_SPACE',
  'BUNDLE_IO_ERROR',
  'DOWNLOAD_STOPPED',
]);

/**
 * Canceled, or bytes known not to be the job's bundle (a size or digest mismatch, any bundle refusal):
 * keeping them would only resume into the same failure.
 */
function bytesAreUnwanted(e: DownloadError): boolean {
  return !KEEP_PARTIAL_AFTER.has(e.code);
}

/** On a stop: everything received becomes durable and resumable. */
async function keepProgress(o: ResolvedDownloadOptions, file: PartialFile): Promise<void> {
  try {
    await o.progressStore.save(await file.sync());
  } catch (e) {
    o.logger.error(
      { err: (e as Error).message },
      'cannot save the offset on stop: the next run resumes from the last saved one',
    );
  }
}

async function discard(o: ResolvedDownloadOptions): Promise<void> {
  try {
    await rm(o.partialPath, { force: true });
    await o.progressStore.clear();
  } catch (e) {
    o.logger.error({ err: (e as Error).message }, 'cannot delete the partial download');
  }
}

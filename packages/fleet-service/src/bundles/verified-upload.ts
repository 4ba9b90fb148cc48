import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { asBundleError, verifyBundleStream, type TrustStore, type VerifiedBundle } from '@otafleet/bundle';
import { err, ok, type Result } from '@otafleet/protocol';
import type { BundleStoreError } from './types.js';

/** An upload that passed every check, still in its temporary file (the caller moves or removes it). */
export interface VerifiedUpload {
  readonly tmpPath: string;
  readonly sha256: string;
  readonly size: number;
  readonly verified: VerifiedBundle;
  /** Removes the temporary file (idempotent). */
  discard(): Promise<void>;
}

/**
 * Streams an upload to a temporary file in `tmpDir` while the bundle library verifies it against `trust`, and
 * hashes the whole file: the one place both bundle stores take bytes in, so neither can store a bundle before it
 * was verified. A refused upload leaves no temporary file behind.
 */
export async function receiveVerified(
  source: AsyncIterable<Uint8Array>,
  options: { readonly tmpDir: string; readonly trust: TrustStore; readonly at: number; readonly maxBytes: number },
): Promise<Result<VerifiedUpload, BundleStoreError>> {
  mkdirSync(options.tmpDir, { recursive: true });
  const tmpPath = join(options.tmpDir, `${randomUUID()}.part`);
  const file = await open(tmpPath, 'wx');
  const hash = createHash('sha256');
  let size = 0;
  // The verifier wraps what `observe` throws; the flag keeps the real reason.
  let tooLarge = false;
  try {
    const verified = await verifyBundleStream(source, {
      trust: options.trust,
      now: new Date(options.at),
      observe: async (chunk) => {
        size += chunk.byteLength;
        if (size > options.maxBytes) {
          tooLarge = true;
          throw new Error(`bundle upload exceeds ${options.maxBytes} bytes`);
        }
        hash.update(chunk);
        await file.write(chunk);
      },
    });
    await file.sync();
    await file.close();
    return ok({
      tmpPath,
      sha256: hash.digest('hex'),
      size,
      verified,
      discard: () => rm(tmpPath, { force: true }),
    });
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmpPath, { force: true });
    if (tooLarge) {
      return err({
        code: 'BUNDLE_TOO_LARGE',
        message: `bundle upload exceeds ${options.maxBytes} bytes`,
        limit: options.maxBytes,
      });
    }
    const bundleError = asBundleError(e);
    return err({ code: bundleError.code, message: bundleError.message });
  }
}

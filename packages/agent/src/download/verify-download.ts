import { verifyBundleStream, type DevicePolicy, type TrustStore, type VerifiedBundle } from '@otafleet/bundle';
import { downloadThrough, type DownloadResult } from './download.js';
import type { DownloadOptions } from './options.js';

export interface DownloadAndVerifyOptions extends DownloadOptions {
  /** The device's pinned trust set and policy (hardware, versions, clock), as `verifyBundleStream` takes them. */
  readonly trust: TrustStore;
  readonly policy?: DevicePolicy;
  readonly now?: Date;
  /**
   * Where the verified payloads are written (a fresh `.verify-*` directory inside it, `payloadDir` of the
   * result: the caller removes it). Omit to verify without keeping payload copies: the downloaded file is
   * then the verified artifact. Its free space (up to the bundle's size) is checked before the download.
   */
  readonly workDir?: string;
}

export interface DownloadedBundle {
  readonly download: DownloadResult;
  readonly bundle: VerifiedBundle;
}

/**
 * Downloads and verifies in ONE pass over the bytes: the bundle verifier (signature against the trust set
 * first, then the manifest, the device policy and every payload's SHA-256) reads the file from byte 0 as
 * it arrives, the bytes already on disk replayed first after a resume. A bundle refusal rejects with its
 * `BUNDLE_*` code and deletes the partial file and the offset; download failures keep their own codes.
 */
export async function downloadAndVerifyBundle(options: DownloadAndVerifyOptions): Promise<DownloadedBundle> {
  const { trust, policy, now, workDir } = options;
  const { download, consumed } = await downloadThrough(
    options,
    (file) =>
      verifyBundleStream(file, {
        trust,
        ...(policy === undefined ? {} : { policy }),
        ...(now === undefined ? {} : { now }),
        ...(workDir === undefined ? {} : { workDir }),
      }),
    workDir === undefined ? [] : [{ path: workDir, bytes: options.expectedSize }],
  );
  return { download, bundle: consumed };
}

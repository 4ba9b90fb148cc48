import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { extractVerifiedBundle, type ExtractResult } from './extract.js';
import { verifyBundleFile, type VerifiedBundle, type VerifyBundleOptions } from './verify.js';

export interface UnpackedBundle {
  readonly bundle: VerifiedBundle;
  readonly extracted: ExtractResult;
}

/**
 * Verify, then extract an app-dir bundle into `targetDir` (which must not exist). The payload is staged
 * in `workDir` (default: beside the target, so the final rename stays on one filesystem) and removed.
 */
export async function unpackBundleFile(
  bundlePath: string,
  targetDir: string,
  options: Omit<VerifyBundleOptions, 'workDir'> & { readonly workDir?: string },
): Promise<UnpackedBundle> {
  const bundle = await verifyBundleFile(bundlePath, { ...options, workDir: options.workDir ?? dirname(targetDir) });
  try {
    return { bundle, extracted: await extractVerifiedBundle(bundle, targetDir) };
  } finally {
    if (bundle.payloadDir !== null) await rm(bundle.payloadDir, { recursive: true, force: true });
  }
}

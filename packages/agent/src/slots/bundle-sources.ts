import type { VerifiedBundle } from '@otafleet/bundle';
import { SlotError } from './errors.js';
import type { ImageInstallSource, SlotContents } from './types.js';

/** What a slot records of a verified bundle: its release identity. */
export function slotContentsOf(bundle: VerifiedBundle): SlotContents {
  const { name, version, securityVersion } = bundle.manifest;
  return { name, version, securityVersion, manifestSha256: bundle.manifestSha256 };
}

/**
 * The install source of a verified rootfs-image bundle: its first payload as verified on disk
 * (verifyBundleFile with a workDir), with the size and SHA-256 the signed manifest binds.
 */
export function imageSourceOf(bundle: VerifiedBundle): ImageInstallSource {
  const image = bundle.payloads[0];
  if (bundle.manifest.installType !== 'rootfs-image' || image === undefined || image.kind !== 'image') {
    throw new SlotError('SLOT_SOURCE_UNSUPPORTED', `a ${bundle.manifest.installType} bundle has no rootfs image`);
  }
  if (image.path === null) {
    throw new SlotError('SLOT_INVALID_ARGUMENT', 'the bundle was verified without a workDir: its image is not on disk');
  }
  return { kind: 'image', path: image.path, size: image.size, sha256: image.sha256 };
}

import { asSlotError, SlotError } from './errors.js';
import { writeImage } from './image-writer.js';
import { withVersion, type SlotRecordFile } from './record-file.js';
import { checkSlotContents } from './schema.js';
import type { ImageInstallSource, InstallSource, SlotContents, SlotId, SlotStepHook } from './types.js';

export function checkImageSource(source: InstallSource, backend: string): ImageInstallSource {
  if (source.kind !== 'image') {
    throw new SlotError('SLOT_SOURCE_UNSUPPORTED', `${backend} slots install an image, not a ${source.kind}`);
  }
  return source;
}

/**
 * The image install of every bootloader backend: the slot's record entry is cleared (durably) before the
 * first byte reaches the partition and set only after the image is synced and read back, so a power cut
 * in between leaves a slot that reads as empty, which nothing will arm or boot.
 */
export async function installImage(input: {
  readonly file: SlotRecordFile;
  readonly slot: SlotId;
  readonly devicePath: string;
  readonly source: ImageInstallSource;
  readonly contents: SlotContents;
  readonly onStep: SlotStepHook;
}): Promise<void> {
  const { file, slot, devicePath, source, onStep } = input;
  const contents = checkSlotContents(input.contents);
  try {
    const record = await file.read();
    if (record.versions[slot]) {
      await onStep('install:invalidate');
      await file.write(withVersion(record, slot, null));
    }
    await onStep('install:write');
    await writeImage(devicePath, source);
    await onStep('install:record');
    await file.write(withVersion(await file.read(), slot, contents));
  } catch (e) {
    throw asSlotError(e, `installing an image into slot ${slot} (${devicePath})`);
  }
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { slotStateCorrupt } from './errors.js';

/**
 * The Raspberry Pi firmware's boot facts under /chosen/bootloader (Raspberry Pi documentation,
 * computers/configuration/device-tree.adoc, "Common bootloader properties"): `tryboot` (32-bit integer,
 * 1 if the tryboot flag was set at boot) and `partition` (32-bit integer, the partition booted). Device-tree
 * integers are big-endian cells, so each file holds 4 bytes.
 */
export const DEFAULT_BOOTLOADER_DT_DIR = '/proc/device-tree/chosen/bootloader';

/** A 32-bit cell, or undefined when the property is absent. */
export async function readDeviceTreeCell(dir: string, property: string): Promise<number | undefined> {
  const path = join(dir, property);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw slotStateCorrupt(`device-tree property ${path}`, `unreadable (${(e as Error).message})`, e);
  }
  if (bytes.byteLength !== 4) {
    throw slotStateCorrupt(`device-tree property ${path}`, `${bytes.byteLength} bytes, not one 32-bit cell`);
  }
  return bytes.readUInt32BE(0);
}

/** Encodes a cell as the firmware writes it (tests write the files a Pi would have). */
export function deviceTreeCell(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

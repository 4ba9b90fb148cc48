import { readFile } from 'node:fs/promises';
import { slotStateCorrupt } from './errors.js';
import { isSlotId } from './rules.js';
import type { SlotId } from './types.js';

/** The kernel command-line parameter the bootloader script adds: `ota.slot=A` or `ota.slot=B`. */
export const SLOT_CMDLINE_PARAMETER = 'ota.slot';
export const DEFAULT_CMDLINE_PATH = '/proc/cmdline';

/** The slot this boot came from, as the bootloader told the kernel. */
export async function readBootedSlot(cmdlinePath: string): Promise<SlotId> {
  let text: string;
  try {
    text = await readFile(cmdlinePath, 'utf8');
  } catch (e) {
    throw slotStateCorrupt(`kernel command line ${cmdlinePath}`, `unreadable (${(e as Error).message})`, e);
  }
  const values = text
    .trim()
    .split(/\s+/)
    .filter((word) => word.startsWith(`${SLOT_CMDLINE_PARAMETER}=`))
    .map((word) => word.slice(SLOT_CMDLINE_PARAMETER.length + 1));
  const last = values.at(-1); // as the kernel does, the last occurrence wins
  if (last === undefined) {
    throw slotStateCorrupt(
      `kernel command line ${cmdlinePath}`,
      `no ${SLOT_CMDLINE_PARAMETER}= parameter: the bootloader script must pass the booted slot`,
    );
  }
  if (!isSlotId(last))
    throw slotStateCorrupt(`kernel command line ${cmdlinePath}`, `${SLOT_CMDLINE_PARAMETER}=${last}`);
  return last;
}

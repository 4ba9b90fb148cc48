import { slotStateCorrupt } from './errors.js';

/**
 * Raspberry Pi `autoboot.txt` in the A/B form the Raspberry Pi documentation gives
 * (computers/config_txt/autoboot.adoc, "Example update flow for A/B booting"):
 *
 *     [all]
 *     tryboot_a_b=1
 *     boot_partition=2
 *     [tryboot]
 *     boot_partition=3
 *
 * A normal boot uses `[all]`'s partition (the committed slot); a reboot with the one-shot `tryboot` flag
 * (`reboot "0 tryboot"`) uses `[tryboot]`'s, and the flag is cleared before the firmware starts, so any
 * reset returns to `[all]`. Committing swaps the two numbers. The file is limited to 512 bytes.
 */
export const AUTOBOOT_MAX_BYTES = 512;

export interface AutobootConfig {
  /** `[all] boot_partition`: what a normal boot starts. */
  readonly bootPartition: number;
  /** `[tryboot] boot_partition`: what a tryboot boot starts. */
  readonly trybootPartition: number;
}

export function renderAutoboot(config: AutobootConfig): string {
  return `[all]\ntryboot_a_b=1\nboot_partition=${config.bootPartition}\n[tryboot]\nboot_partition=${config.trybootPartition}\n`;
}

/** Reads the A/B form; anything else (no tryboot_a_b=1, a missing partition) is SLOT_STATE_CORRUPT. */
export function parseAutoboot(text: string, what: string): AutobootConfig {
  if (Buffer.byteLength(text) > AUTOBOOT_MAX_BYTES) {
    throw slotStateCorrupt(what, `larger than the firmware's ${AUTOBOOT_MAX_BYTES}-byte limit`);
  }
  const sections = new Map<string, Map<string, string>>();
  let section = 'all';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const filter = /^\[([^\]]+)\]$/.exec(line);
    if (filter?.[1] !== undefined) {
      section = filter[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw slotStateCorrupt(what, `unreadable line ${JSON.stringify(line)}`);
    const values = sections.get(section) ?? new Map<string, string>();
    values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    sections.set(section, values);
  }
  const all = sections.get('all');
  if (all?.get('tryboot_a_b') !== '1') throw slotStateCorrupt(what, '[all] has no tryboot_a_b=1');
  const partition = (name: string, value: string | undefined): number => {
    const n = value !== undefined && /^\d{1,3}$/.test(value) ? Number(value) : NaN;
    if (!(n >= 1 && n <= 127)) throw slotStateCorrupt(what, `${name} boot_partition is ${String(value)}`);
    return n;
  };
  return {
    bootPartition: partition('[all]', all.get('boot_partition')),
    trybootPartition: partition('[tryboot]', sections.get('tryboot')?.get('boot_partition')),
  };
}

import { SlotError, slotStateCorrupt } from './errors.js';
import { isSlotId } from './rules.js';
import type { SlotId } from './types.js';

/** A bootloader environment as name → value (both tools print `name=value` lines; values may hold '='). */
export type EnvVars = ReadonlyMap<string, string>;

export function parseEnvListing(text: string): EnvVars {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

/** Values the agent writes: names of word characters, values on one line (both tools are line based). */
export function checkEnvAssignment(name: string, value: string | null): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || (value !== null && /[\n\r\0]/.test(value))) {
    throw new SlotError('SLOT_INVALID_ARGUMENT', `cannot write environment variable ${JSON.stringify(name)}`);
  }
}

/** Readers that turn a malformed variable into SLOT_STATE_CORRUPT naming the environment and the variable. */
export class EnvReader {
  constructor(
    private readonly vars: EnvVars,
    private readonly what: string,
  ) {}

  get(name: string): string {
    return this.vars.get(name) ?? '';
  }

  slot(name: string): SlotId {
    const value = this.get(name);
    if (!isSlotId(value)) throw slotStateCorrupt(this.what, `${name} is ${JSON.stringify(value)}, not A or B`);
    return value;
  }

  optionalSlot(name: string): SlotId | undefined {
    return this.get(name) === '' ? undefined : this.slot(name);
  }

  int(name: string, min: number, max: number, fallback?: number): number {
    const value = this.get(name);
    if (value === '' && fallback !== undefined) return fallback;
    const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) {
      throw slotStateCorrupt(this.what, `${name} is ${JSON.stringify(value)}, not an integer from ${min} to ${max}`);
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.get(name);
    if (!(allowed as readonly string[]).includes(value)) {
      throw slotStateCorrupt(this.what, `${name} is ${JSON.stringify(value)}, not one of ${allowed.join(', ')}`);
    }
    return value as T;
  }
}

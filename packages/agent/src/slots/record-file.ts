import { readFile } from 'node:fs/promises';
import { describeIssues } from '@otafleet/protocol';
import { asSlotError, slotStateCorrupt } from './errors.js';
import { writeFileAtomic } from './durable-fs.js';
import { slotRecordValidator, type SlotRecord } from './schema.js';
import type { SlotContents, SlotId } from './types.js';

/** Larger than any honest record (two releases and a trial): anything bigger is not ours. */
const MAX_RECORD_BYTES = 64 * 1024;

/** Parses and checks a record; every way it can be wrong is SLOT_STATE_CORRUPT naming `what`. */
export function parseSlotRecord(text: string, what: string): SlotRecord {
  if (text.length > MAX_RECORD_BYTES) throw slotStateCorrupt(what, `larger than ${MAX_RECORD_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw slotStateCorrupt(what, `not JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  const checked = slotRecordValidator.validate(value);
  if (!checked.ok) throw slotStateCorrupt(what, describeIssues(checked.error));
  for (const trial of [checked.value.trial, checked.value.failedTrial]) {
    if (trial && trial.attempts > trial.maxAttempts) {
      throw slotStateCorrupt(what, `trial attempts ${trial.attempts} exceed maxAttempts ${trial.maxAttempts}`);
    }
  }
  return checked.value;
}

export const serializeSlotRecord = (record: SlotRecord): string => `${JSON.stringify(record, null, 2)}\n`;

/** The agent's JSON record file, replaced atomically on every write. */
export class SlotRecordFile {
  constructor(
    readonly path: string,
    private readonly what = `slot record ${path}`,
  ) {}

  /** The record; missing, unreadable or invalid is SLOT_STATE_CORRUPT. */
  async read(): Promise<SlotRecord> {
    const found = await this.readIfExists();
    if (found === undefined) throw slotStateCorrupt(this.what, 'missing');
    return found;
  }

  async readIfExists(): Promise<SlotRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw slotStateCorrupt(this.what, `unreadable (${(e as Error).message})`, e);
    }
    return parseSlotRecord(text, this.what);
  }

  async write(record: SlotRecord): Promise<void> {
    try {
      await writeFileAtomic(this.path, serializeSlotRecord(record));
    } catch (e) {
      throw asSlotError(e, `writing ${this.what}`);
    }
  }
}

/** Record versions (null = empty) as state versions (absent = empty). */
export function versionsOf(record: SlotRecord): Partial<Record<SlotId, SlotContents>> {
  const out: Partial<Record<SlotId, SlotContents>> = {};
  if (record.versions.A) out.A = record.versions.A;
  if (record.versions.B) out.B = record.versions.B;
  return out;
}

export function withVersion(record: SlotRecord, slot: SlotId, contents: SlotContents | null): SlotRecord {
  return { ...record, versions: { ...record.versions, [slot]: contents } };
}

/** A trial or failed trial as a record field (null = none). */
export const orNull = <T>(value: T | undefined): T | null => value ?? null;
export const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

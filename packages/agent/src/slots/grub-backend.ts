import { copyFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  assertNotProvisioned,
  BootloaderSlotBackend,
  writeInitialRecord,
  type BootDecision,
  type BootloaderEnv,
  type BootloaderSlotOptions,
} from './bootloader-backend.js';
import { fsyncPath, tempSibling } from './durable-fs.js';
import { asSlotError, slotStateCorrupt } from './errors.js';
import { EnvReader, checkEnvAssignment, parseEnvListing } from './env-vars.js';
import { execTool, runTool, type ExecTool } from './exec.js';
import { GRUB_TRIAL_STATES, GRUB_VARS as V } from './grub-script.js';
import { MAX_TRIAL_ATTEMPTS } from './schema.js';
import type { SlotContents, SlotId } from './types.js';

/** GRUB's environment block is exactly 1 KiB; save_env cannot grow a file. */
const GRUBENV_BYTES = 1024;

export interface GrubToolOptions {
  /** The grubenv file the GRUB script loads (e.g. /boot/grub/grubenv). */
  readonly grubenvPath: string;
  readonly exec?: ExecTool;
  /** Path of grub-editenv (Debian: grub-common); default: found on PATH. */
  readonly editenv?: string;
}

/**
 * The grubenv block through the real `grub-editenv`. grub-editenv rewrites its file in place (open with
 * O_TRUNC, write, fsync), which a power cut can leave empty; so the agent edits a copy and renames it
 * over the original (then syncs the directory). GRUB finds the new file's blocks on the next boot.
 */
export class GrubEnv implements BootloaderEnv {
  readonly kind = 'grub' as const;
  private readonly exec: ExecTool;
  private readonly editenv: string;
  private readonly what: string;

  constructor(private readonly tools: GrubToolOptions) {
    this.exec = tools.exec ?? execTool;
    this.editenv = tools.editenv ?? 'grub-editenv';
    this.what = `GRUB environment ${tools.grubenvPath}`;
  }

  async vars(): Promise<EnvReader> {
    // grub-editenv lists a missing file as empty: absence is checked here.
    const info = await stat(this.tools.grubenvPath).catch(() => undefined);
    if (info === undefined) throw slotStateCorrupt(this.what, 'missing');
    if (info.size !== GRUBENV_BYTES) throw slotStateCorrupt(this.what, `${info.size} bytes, not ${GRUBENV_BYTES}`);
    const result = await this.exec(this.editenv, [this.tools.grubenvPath, 'list']);
    if (result.exitCode !== 0) {
      throw slotStateCorrupt(this.what, `grub-editenv exited with ${result.exitCode}: ${result.stderr.trim()}`);
    }
    return new EnvReader(parseEnvListing(result.stdout), this.what);
  }

  /** One atomic replacement of the block; null unsets a variable. */
  async set(assignments: Readonly<Record<string, string | null>>): Promise<void> {
    const sets: string[] = [];
    const unsets: string[] = [];
    for (const [name, value] of Object.entries(assignments)) {
      checkEnvAssignment(name, value);
      if (value === null) unsets.push(name);
      else sets.push(`${name}=${value}`);
    }
    const { grubenvPath } = this.tools;
    const temp = tempSibling(grubenvPath);
    try {
      await copyFile(grubenvPath, temp);
      if (sets.length > 0) await runTool(this.exec, this.editenv, [temp, 'set', ...sets]);
      if (unsets.length > 0) await runTool(this.exec, this.editenv, [temp, 'unset', ...unsets]);
      await fsyncPath(temp);
      await rename(temp, grubenvPath);
      await fsyncPath(dirname(grubenvPath));
    } catch (e) {
      await rm(temp, { force: true });
      throw asSlotError(e, `writing ${this.what}`);
    }
  }

  async read(): Promise<BootDecision> {
    return decodeGrub(await this.vars(), this.what);
  }

  /** The fallback lives in the GRUB script itself; a readable block is all it needs. */
  async assertReady(): Promise<void> {
    await this.vars();
  }

  arm(slot: SlotId, maxAttempts: number): Promise<void> {
    return this.set({
      [V.trialSlot]: slot,
      [V.trialState]: 'armed',
      [V.trialAttempts]: '0',
      [V.trialMax]: String(maxAttempts),
    });
  }

  commit(slot: SlotId): Promise<void> {
    return this.set({
      [V.bootSlot]: slot,
      [V.trialSlot]: null,
      [V.trialState]: null,
      [V.trialAttempts]: null,
      [V.trialMax]: null,
    });
  }

  rollback(): Promise<void> {
    return this.set({ [V.trialState]: 'rolled-back' });
  }

  /** The GRUB script marks an exhausted trial itself. */
  settle(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

export function decodeGrub(env: EnvReader, what: string): BootDecision {
  const committed = env.slot(V.bootSlot);
  const state = env.oneOf(V.trialState, GRUB_TRIAL_STATES);
  if (state === '') return { committed, trial: undefined, failedTrial: undefined };
  const slot = env.slot(V.trialSlot);
  if (slot === committed) throw slotStateCorrupt(what, `${V.trialSlot} is the committed slot ${committed}`);
  const maxAttempts = env.int(V.trialMax, 1, MAX_TRIAL_ATTEMPTS);
  const attempts = env.int(V.trialAttempts, 0, maxAttempts);
  const trial = { slot, attempts, maxAttempts };
  switch (state) {
    case 'armed':
      return { committed, trial, failedTrial: undefined };
    case 'exhausted':
      return { committed, trial: undefined, failedTrial: { ...trial, reason: 'attempts-exhausted' } };
    case 'rolled-back':
      return { committed, trial: undefined, failedTrial: { ...trial, reason: 'rolled-back' } };
  }
}

export interface GrubSlotOptions extends BootloaderSlotOptions, GrubToolOptions {}

/** A/B rootfs slots chosen by the GRUB script in GRUB_SLOT_SCRIPT over grubenv. */
export function createGrubSlotBackend(options: GrubSlotOptions): BootloaderSlotBackend {
  return new BootloaderSlotBackend(new GrubEnv(options), options);
}

/** First boot: creates grubenv if absent (grub-editenv create), slot A committed, the agent's record. */
export async function provisionGrubSlots(
  options: GrubToolOptions & { readonly recordPath: string; readonly factory?: SlotContents },
): Promise<void> {
  await assertNotProvisioned(options.recordPath);
  const env = new GrubEnv(options);
  if ((await stat(options.grubenvPath).catch(() => undefined)) === undefined) {
    await runTool(options.exec ?? execTool, options.editenv ?? 'grub-editenv', [options.grubenvPath, 'create']);
  }
  await env.set({
    [V.bootSlot]: 'A',
    [V.trialSlot]: null,
    [V.trialState]: null,
    [V.trialAttempts]: null,
    [V.trialMax]: null,
  });
  await writeInitialRecord(options.recordPath, options.factory);
}

import {
  assertNotProvisioned,
  BootloaderSlotBackend,
  writeInitialRecord,
  type BootDecision,
  type BootloaderEnv,
  type BootloaderSlotOptions,
} from './bootloader-backend.js';
import { SlotError, slotStateCorrupt } from './errors.js';
import { EnvReader, checkEnvAssignment, parseEnvListing } from './env-vars.js';
import { execTool, runTool, type ExecTool } from './exec.js';
import { MAX_TRIAL_ATTEMPTS } from './schema.js';
import type { SlotContents, SlotId, SlotTrial } from './types.js';
import { UBOOT_VARS as V } from './uboot-script.js';

export interface UbootToolOptions {
  /** fw_env.config describing where the environment lives (two entries: a redundant environment). */
  readonly fwEnvConfig: string;
  readonly exec?: ExecTool;
  /** Paths of the tools (libubootenv's fw_printenv / fw_setenv); default: found on PATH. */
  readonly printenv?: string;
  readonly setenv?: string;
}

/**
 * The U-Boot environment through libubootenv's `fw_printenv`/`fw_setenv` (Debian: libubootenv-tool).
 * Every change is ONE `fw_setenv -s -` call, so it is one environment write: with a redundant environment
 * (two copies, the newer one flagged) a power cut mid-write leaves the previous copy in force.
 */
export class UbootEnv implements BootloaderEnv {
  readonly kind = 'uboot' as const;
  private readonly exec: ExecTool;
  private readonly what: string;

  constructor(private readonly tools: UbootToolOptions) {
    this.exec = tools.exec ?? execTool;
    this.what = `U-Boot environment (${tools.fwEnvConfig})`;
  }

  async vars(): Promise<EnvReader> {
    const result = await this.exec(this.tools.printenv ?? 'fw_printenv', ['-c', this.tools.fwEnvConfig]);
    if (result.exitCode !== 0) {
      const said = (result.stderr.trim() || result.stdout.trim()).replace(/\s+/g, ' ');
      throw slotStateCorrupt(this.what, `fw_printenv exited with ${result.exitCode}: ${said}`);
    }
    return new EnvReader(parseEnvListing(result.stdout), this.what);
  }

  /** One atomic environment write; null deletes a variable. */
  async set(assignments: Readonly<Record<string, string | null>>): Promise<void> {
    let script = '';
    for (const [name, value] of Object.entries(assignments)) {
      checkEnvAssignment(name, value);
      script += `${name}=${value ?? ''}\n`; // libubootenv's script syntax: `name=` deletes
    }
    await runTool(this.exec, this.tools.setenv ?? 'fw_setenv', ['-c', this.tools.fwEnvConfig, '-s', '-'], script);
  }

  async read(): Promise<BootDecision> {
    return decodeUboot(await this.vars());
  }

  async assertReady(): Promise<void> {
    if ((await this.vars()).get(V.altbootcmd).trim() === '') {
      throw new SlotError(
        'SLOT_BOOTLOADER_UNPREPARED',
        `${this.what} has no altbootcmd: a failed trial could not fall back, so no trial is armed`,
      );
    }
  }

  arm(slot: SlotId, maxAttempts: number): Promise<void> {
    return this.set({
      [V.trialSlot]: slot,
      [V.bootlimit]: String(maxAttempts),
      [V.bootcount]: '0',
      [V.upgradeAvailable]: '1',
    });
  }

  commit(slot: SlotId): Promise<void> {
    return this.set({ [V.bootSlot]: slot, [V.upgradeAvailable]: '0', [V.bootcount]: '0', [V.trialSlot]: null });
  }

  rollback(): Promise<void> {
    return this.set({ [V.upgradeAvailable]: '0' });
  }

  /** bootcount past bootlimit with the trial still armed: altbootcmd did not run or did not save. */
  async settle(booted: SlotId): Promise<boolean> {
    const env = await this.vars();
    const decision = decodeUboot(env);
    if (decision.trial === undefined || booted === decision.trial.slot) return false;
    if (env.int(V.bootcount, 0, 999_999, 0) <= decision.trial.maxAttempts) return false;
    await this.set({ [V.upgradeAvailable]: '0' });
    return true;
  }
}

/**
 * upgrade_available=1 + trial_slot: a trial (attempts = bootcount). upgrade_available=0 + trial_slot: a trial
 * that ended uncommitted, exhausted if bootcount passed bootlimit (altbootcmd ran), else rolled back.
 */
export function decodeUboot(env: EnvReader): BootDecision {
  const committed = env.slot(V.bootSlot);
  const upgrade = env.oneOf(V.upgradeAvailable, ['', '0', '1']);
  const trialSlot = env.optionalSlot(V.trialSlot);
  if (trialSlot === undefined) {
    if (upgrade === '1') throw slotStateCorrupt('U-Boot environment', `${V.upgradeAvailable}=1 without ${V.trialSlot}`);
    return { committed, trial: undefined, failedTrial: undefined };
  }
  if (trialSlot === committed) {
    throw slotStateCorrupt('U-Boot environment', `${V.trialSlot} is the committed slot ${committed}`);
  }
  const maxAttempts = env.int(V.bootlimit, 1, MAX_TRIAL_ATTEMPTS);
  const bootcount = env.int(V.bootcount, 0, 999_999, 0);
  const trial: SlotTrial = { slot: trialSlot, attempts: Math.min(bootcount, maxAttempts), maxAttempts };
  if (upgrade === '1') return { committed, trial, failedTrial: undefined };
  const reason = bootcount > maxAttempts ? 'attempts-exhausted' : 'rolled-back';
  return { committed, trial: undefined, failedTrial: { ...trial, reason } };
}

export interface UbootSlotOptions extends BootloaderSlotOptions, UbootToolOptions {}

/** A/B rootfs slots chosen by U-Boot (boot_slot / upgrade_available / bootcount / bootlimit / altbootcmd). */
export function createUbootSlotBackend(options: UbootSlotOptions): BootloaderSlotBackend {
  return new BootloaderSlotBackend(new UbootEnv(options), options);
}

/**
 * First boot: slot A committed, no trial, the agent's record with the factory release. The environment must
 * already be valid and hold altbootcmd (the board's default environment, written by the image build).
 */
export async function provisionUbootSlots(
  options: UbootToolOptions & { readonly recordPath: string; readonly factory?: SlotContents },
): Promise<void> {
  await assertNotProvisioned(options.recordPath);
  const env = new UbootEnv(options);
  await env.assertReady();
  await env.set({ [V.bootSlot]: 'A', [V.upgradeAvailable]: '0', [V.bootcount]: '0', [V.trialSlot]: null });
  await writeInitialRecord(options.recordPath, options.factory); // last: its presence means "provisioned"
}

import type { Logger } from 'pino';
import { SlotError } from './errors.js';
import { checkImageSource, installImage } from './image-install.js';
import { DEFAULT_CMDLINE_PATH, readBootedSlot } from './kernel-cmdline.js';
import { SlotRecordFile, versionsOf } from './record-file.js';
import { assertArmable, assertInstallTarget, checkSlotId, commitDecision } from './rules.js';
import { checkSlotContents } from './schema.js';
import { SerialQueue } from './serial.js';
import type {
  FailedTrial,
  InstallSource,
  SlotBackend,
  SlotBackendCommonOptions,
  SlotContents,
  SlotId,
  SlotState,
  SlotStepHook,
  SlotTrial,
} from './types.js';

/** What a bootloader environment says about the next boot. */
export interface BootDecision {
  readonly committed: SlotId;
  readonly trial: SlotTrial | undefined;
  readonly failedTrial: FailedTrial | undefined;
}

/**
 * A bootloader environment that counts trial boots itself (U-Boot's bootcount, the GRUB script's counter).
 * Each change is one atomic write of the environment.
 */
export interface BootloaderEnv {
  readonly kind: 'uboot' | 'grub';
  read(): Promise<BootDecision>;
  /** Refuses (SLOT_BOOTLOADER_UNPREPARED) when the environment could not fall back from a failed trial. */
  assertReady(): Promise<void>;
  arm(slot: SlotId, maxAttempts: number): Promise<void>;
  commit(slot: SlotId): Promise<void>;
  rollback(): Promise<void>;
  /** Settles what the bootloader script should have settled; true if it wrote anything. */
  settle(booted: SlotId): Promise<boolean>;
}

export interface BootloaderSlotOptions extends SlotBackendCommonOptions {
  /** The agent's record of what each slot holds (on a persistent data partition). */
  readonly recordPath: string;
  /** Each slot's partition (or, in tests, the regular file standing in for it). */
  readonly devices: Readonly<Record<SlotId, string>>;
  /** Reboots the device (injected: tests record the call). */
  readonly reboot: () => void | Promise<void>;
  /** Where the booted slot is read (`ota.slot=`); default /proc/cmdline. */
  readonly cmdlinePath?: string;
}

/** Slots a bootloader chooses between; the kernel command line says which one booted. */
export class BootloaderSlotBackend implements SlotBackend {
  readonly kind: 'uboot' | 'grub';
  readonly activation = 'reboot' as const;
  readonly accepts = ['image'] as const;
  private readonly file: SlotRecordFile;
  private readonly cmdlinePath: string;
  private readonly logger: Logger;
  private readonly onStep: SlotStepHook;
  private readonly queue = new SerialQueue();

  constructor(
    private readonly env: BootloaderEnv,
    private readonly options: BootloaderSlotOptions,
  ) {
    this.kind = env.kind;
    this.file = new SlotRecordFile(options.recordPath, `${env.kind} slot record ${options.recordPath}`);
    this.cmdlinePath = options.cmdlinePath ?? DEFAULT_CMDLINE_PATH;
    this.logger = options.logger.child({ component: 'slots', backend: env.kind });
    this.onStep = options.onStep ?? (() => undefined);
  }

  state(): Promise<SlotState> {
    return this.queue.run(() => this.read());
  }

  recordBootAttempt(): Promise<SlotState> {
    return this.queue.run(async () => {
      const state = await this.read();
      if (!(await this.env.settle(state.booted))) return state;
      this.logger.warn({ trial: state.trial }, 'trial attempts exhausted: recorded the fallback the bootloader made');
      return await this.read();
    });
  }

  install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    return this.queue.run(async () => {
      checkSlotId(slot);
      checkSlotContents(contents);
      const image = checkImageSource(source, this.kind);
      assertInstallTarget(await this.read(), slot);
      await installImage({
        file: this.file,
        slot,
        devicePath: this.options.devices[slot],
        source: image,
        contents,
        onStep: this.onStep,
      });
      this.logger.info({ slot, version: contents.version }, 'slot installed');
    });
  }

  armTrial(slot: SlotId, maxAttempts: number): Promise<SlotState> {
    return this.queue.run(async () => {
      checkSlotId(slot);
      assertArmable(await this.read(), slot, maxAttempts);
      await this.env.assertReady();
      await this.onStep('arm:env');
      await this.env.arm(slot, maxAttempts);
      this.logger.info({ slot, maxAttempts }, 'trial armed');
      return await this.read();
    });
  }

  commit(): Promise<SlotState> {
    return this.queue.run(async () => {
      const state = await this.read();
      if (commitDecision(state) === 'noop' || state.trial === undefined) return state;
      await this.onStep('commit:env');
      await this.env.commit(state.trial.slot);
      this.logger.info({ slot: state.trial.slot }, 'trial committed');
      return await this.read();
    });
  }

  rollback(): Promise<SlotState> {
    return this.queue.run(async () => {
      const state = await this.read();
      if (state.trial === undefined) return state;
      await this.onStep('rollback:env');
      await this.env.rollback();
      this.logger.warn({ trial: state.trial }, 'trial rolled back');
      return await this.read();
    });
  }

  activate(): Promise<void> {
    return this.queue.run(async () => {
      await this.onStep('activate:reboot');
      await this.options.reboot();
    });
  }

  private async read(): Promise<SlotState> {
    const decision = await this.env.read();
    const record = await this.file.read();
    const booted = await readBootedSlot(this.cmdlinePath);
    return { booted, ...decision, versions: versionsOf(record) };
  }
}

/** Refuses to provision over an existing record (valid or not): provisioning would forget a committed slot. */
export async function assertNotProvisioned(recordPath: string): Promise<void> {
  if ((await new SlotRecordFile(recordPath).readIfExists().catch(() => 'corrupt' as const)) !== undefined) {
    throw new SlotError('SLOT_ALREADY_PROVISIONED', `${recordPath} exists: these slots are provisioned`);
  }
}

/** The record file of a bootloader backend on first boot: slot A holds the factory release (or nothing). */
export async function writeInitialRecord(recordPath: string, factory: SlotContents | undefined): Promise<void> {
  await new SlotRecordFile(recordPath).write({
    schemaVersion: 1,
    versions: { A: factory === undefined ? null : checkSlotContents(factory), B: null },
  });
}

import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parseAutoboot, renderAutoboot } from './autoboot-txt.js';
import { assertNotProvisioned } from './bootloader-backend.js';
import { DEFAULT_BOOTLOADER_DT_DIR, readDeviceTreeCell } from './device-tree.js';
import { writeFileAtomic } from './durable-fs.js';
import { asSlotError, SlotError, slotStateCorrupt } from './errors.js';
import { checkImageSource, installImage } from './image-install.js';
import { orUndefined, SlotRecordFile, versionsOf } from './record-file.js';
import {
  assertArmable,
  assertInstallTarget,
  checkSlotId,
  commitDecision,
  exhausted,
  otherSlot,
  rolledBack,
} from './rules.js';
import { checkSlotContents, type SlotRecord } from './schema.js';
import { SerialQueue } from './serial.js';
import {
  SLOT_IDS,
  type InstallSource,
  type SlotBackend,
  type SlotBackendCommonOptions,
  type SlotContents,
  type SlotId,
  type SlotState,
  type SlotStepHook,
} from './types.js';

/** The reboot arguments Raspberry Pi documents: partition 0 (the default) with or without the tryboot flag. */
export const TRYBOOT_REBOOT_ARGUMENT = '0 tryboot';
export const PLAIN_REBOOT_ARGUMENT = '0';

export interface TrybootSlotOptions extends SlotBackendCommonOptions {
  /** autoboot.txt on the boot-selector (first FAT) partition, mounted. */
  readonly autobootPath: string;
  /** Each slot's boot partition number, e.g. { A: 2, B: 3 }. */
  readonly partitions: Readonly<Record<SlotId, number>>;
  /** Each slot's partition device to write images to (or, in tests, the file standing in for it). */
  readonly devices: Readonly<Record<SlotId, string>>;
  /** The agent's record (trial counter, contents) on a persistent data partition. */
  readonly recordPath: string;
  /** Reboots with the given argument (`0 tryboot` or `0`), e.g. `reboot "0 tryboot"`. */
  readonly reboot: (argument: string) => void | Promise<void>;
  /** Where the firmware's `tryboot` and `partition` cells are; default /proc/device-tree/chosen/bootloader. */
  readonly deviceTreeDir?: string;
}

interface TrybootView {
  readonly state: SlotState;
  readonly record: SlotRecord;
  /** The firmware set the tryboot flag for this boot. */
  readonly tryboot: boolean;
}

/**
 * Raspberry Pi 4/5 tryboot A/B: autoboot.txt names the committed partition (`[all]`) and the other one
 * (`[tryboot]`); `reboot "0 tryboot"` boots the other one exactly once. The firmware retries nothing, so a
 * trial of up to maxAttempts is up to maxAttempts tryboot reboots: each `activate()` counts one before it
 * reboots (a trial boot that never reaches the agent still used its attempt). A start on the committed
 * slot with the trial still armed is a failed try: the agent activates again or, with none left,
 * `recordBootAttempt()` records the trial as exhausted. Committing rewrites autoboot.txt, swapped.
 */
export class TrybootSlotBackend implements SlotBackend {
  readonly kind = 'tryboot' as const;
  readonly activation = 'reboot' as const;
  readonly accepts = ['image'] as const;
  private readonly file: SlotRecordFile;
  private readonly dtDir: string;
  private readonly logger: Logger;
  private readonly onStep: SlotStepHook;
  private readonly queue = new SerialQueue();

  constructor(private readonly options: TrybootSlotOptions) {
    if (options.partitions.A === options.partitions.B) {
      throw new SlotError('SLOT_INVALID_ARGUMENT', 'slots A and B need different boot partitions');
    }
    this.file = new SlotRecordFile(options.recordPath, `tryboot slot record ${options.recordPath}`);
    this.dtDir = options.deviceTreeDir ?? DEFAULT_BOOTLOADER_DT_DIR;
    this.logger = options.logger.child({ component: 'slots', backend: 'tryboot' });
    this.onStep = options.onStep ?? (() => undefined);
  }

  state(): Promise<SlotState> {
    return this.queue.run(async () => (await this.read()).state);
  }

  recordBootAttempt(): Promise<SlotState> {
    return this.queue.run(async () => {
      await this.settle();
      return (await this.read()).state;
    });
  }

  install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    return this.queue.run(async () => {
      checkSlotId(slot);
      checkSlotContents(contents);
      const image = checkImageSource(source, 'tryboot');
      assertInstallTarget((await this.read()).state, slot);
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
      const { state, record } = await this.read();
      assertArmable(state, slot, maxAttempts);
      await this.onStep('arm:record');
      await this.file.write({ ...record, trial: { slot, attempts: 0, maxAttempts }, failedTrial: null });
      this.logger.info({ slot, maxAttempts }, 'trial armed');
      return (await this.read()).state;
    });
  }

  /** autoboot.txt first (the commit point), then the record; a start between the two completes it. */
  commit(): Promise<SlotState> {
    return this.queue.run(async () => {
      const { state, record, tryboot } = await this.read();
      if (commitDecision(state) === 'noop' || state.trial === undefined) return state;
      const slot = state.trial.slot;
      if (!tryboot) {
        // Raspberry Pi's documented check: a trial is validated only in a boot with the tryboot flag set.
        throw new SlotError('SLOT_TRIAL_NOT_BOOTED', `slot ${slot} was booted without the tryboot flag: not committed`);
      }
      await this.onStep('commit:autoboot');
      await this.writeAutoboot(slot);
      await this.onStep('commit:record');
      await this.file.write({ ...record, trial: null, failedTrial: null });
      this.logger.info({ slot }, 'trial committed');
      return (await this.read()).state;
    });
  }

  rollback(): Promise<SlotState> {
    return this.queue.run(async () => {
      const { state, record } = await this.read();
      if (state.trial === undefined) return state;
      await this.onStep('rollback:record');
      await this.file.write({ ...record, trial: null, failedTrial: rolledBack(state.trial) });
      this.logger.warn({ trial: state.trial }, 'trial rolled back');
      return (await this.read()).state;
    });
  }

  /** An armed trial not running, with attempts left: count one, then `reboot "0 tryboot"`; else a plain reboot. */
  activate(): Promise<void> {
    return this.queue.run(async () => {
      await this.settle();
      const { state, record } = await this.read();
      const trial = state.trial;
      if (trial !== undefined && trial.slot !== state.booted) {
        await this.onStep('activate:count');
        await this.file.write({ ...record, trial: { ...trial, attempts: trial.attempts + 1 } });
        await this.onStep('activate:reboot');
        this.logger.info({ slot: trial.slot, attempt: trial.attempts + 1 }, 'rebooting into the trial (tryboot)');
        await this.options.reboot(TRYBOOT_REBOOT_ARGUMENT);
        return;
      }
      await this.onStep('activate:reboot');
      await this.options.reboot(PLAIN_REBOOT_ARGUMENT);
    });
  }

  /**
   * Finishes an interrupted commit (autoboot.txt already names the trial slot) and records a trial whose
   * attempts are used up once the device is back on the committed slot.
   */
  private async settle(): Promise<void> {
    const { state, record } = await this.read();
    const trial = orUndefined(record.trial);
    if (trial !== undefined && trial.slot === state.committed) {
      await this.file.write({ ...record, trial: null, failedTrial: null });
      this.logger.info({ slot: trial.slot }, 'completed an interrupted commit');
    } else if (trial !== undefined && trial.slot !== state.booted && trial.attempts >= trial.maxAttempts) {
      await this.file.write({ ...record, trial: null, failedTrial: exhausted(trial) });
      this.logger.warn({ trial }, 'trial attempts exhausted: staying on the committed slot');
    }
  }

  private async writeAutoboot(committed: SlotId): Promise<void> {
    const { partitions, autobootPath } = this.options;
    const text = renderAutoboot({
      bootPartition: partitions[committed],
      trybootPartition: partitions[otherSlot(committed)],
    });
    try {
      await writeFileAtomic(autobootPath, text);
    } catch (e) {
      throw asSlotError(e, `writing ${autobootPath}`);
    }
  }

  private slotOfPartition(partition: number, what: string): SlotId {
    const slot = SLOT_IDS.find((s) => this.options.partitions[s] === partition);
    if (slot === undefined) throw slotStateCorrupt(what, `partition ${partition} is neither slot's`);
    return slot;
  }

  private async read(): Promise<TrybootView> {
    const { autobootPath } = this.options;
    const what = `autoboot.txt ${autobootPath}`;
    let text: string;
    try {
      text = await readFile(autobootPath, 'utf8');
    } catch (e) {
      throw slotStateCorrupt(what, `unreadable (${(e as Error).message})`, e);
    }
    const autoboot = parseAutoboot(text, what);
    const committed = this.slotOfPartition(autoboot.bootPartition, `${what} [all]`);
    if (this.slotOfPartition(autoboot.trybootPartition, `${what} [tryboot]`) !== otherSlot(committed)) {
      throw slotStateCorrupt(what, '[tryboot] must name the other slot than [all]');
    }
    const partition = await readDeviceTreeCell(this.dtDir, 'partition');
    if (partition === undefined) {
      throw slotStateCorrupt(`${this.dtDir}/partition`, 'missing: the firmware did not say which partition booted');
    }
    const booted = this.slotOfPartition(partition, `${this.dtDir}/partition`);
    const tryboot = (await readDeviceTreeCell(this.dtDir, 'tryboot')) === 1;
    const record = await this.file.read();
    const trial = orUndefined(record.trial);
    const state: SlotState = {
      booted,
      committed,
      // A trial of the committed slot is a commit that wrote autoboot.txt but not yet the record: done.
      trial: trial?.slot === committed ? undefined : trial,
      failedTrial: trial?.slot === committed ? undefined : orUndefined(record.failedTrial),
      versions: versionsOf(record),
    };
    return { state, record, tryboot };
  }
}

/** First boot: autoboot.txt with slot A committed (written only if absent or different), the agent's record. */
export async function provisionTrybootSlots(options: {
  readonly autobootPath: string;
  readonly partitions: Readonly<Record<SlotId, number>>;
  readonly recordPath: string;
  readonly factory?: SlotContents;
}): Promise<void> {
  await assertNotProvisioned(options.recordPath);
  const text = renderAutoboot({ bootPartition: options.partitions.A, trybootPartition: options.partitions.B });
  const existing = await readFile(options.autobootPath, 'utf8').catch(() => undefined);
  try {
    if (existing !== text) await writeFileAtomic(options.autobootPath, text);
    const record: SlotRecord = {
      schemaVersion: 1,
      trial: null,
      failedTrial: null,
      versions: { A: options.factory === undefined ? null : checkSlotContents(options.factory), B: null },
    };
    await new SlotRecordFile(options.recordPath).write(record);
  } catch (e) {
    throw asSlotError(e, 'provisioning tryboot slots');
  }
}

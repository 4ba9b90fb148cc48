import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { asSlotError, SlotError, slotStateCorrupt } from './errors.js';
import { fsyncPath, fsyncTree, moveTree, pathExists, replaceSymlink } from './durable-fs.js';
import { orNull, orUndefined, SlotRecordFile, versionsOf, withVersion } from './record-file.js';
import { assertArmable, assertInstallTarget, bootStep, checkSlotId, commitDecision, rolledBack } from './rules.js';
import { checkSlotContents, type SlotRecord } from './schema.js';
import { SerialQueue } from './serial.js';
import {
  SLOT_IDS,
  type DirectoryInstallSource,
  type InstallSource,
  type SlotBackend,
  type SlotBackendCommonOptions,
  type SlotContents,
  type SlotId,
  type SlotState,
  type SlotStepHook,
} from './types.js';

export interface DirectorySlotOptions extends SlotBackendCommonOptions {
  /** Holds `slots/A`, `slots/B`, the `current` link the application runs from, and `slots.json`. */
  readonly root: string;
  /**
   * Restarts the application so it runs from `current` again (e.g. `systemctl restart app`). Not the agent:
   * an agent start is itself a start of the trial (counted by recordBootAttempt).
   */
  readonly restart: () => void | Promise<void>;
}

/** The paths of a directory-slot root. */
export function directorySlotLayout(root: string) {
  return {
    slotsDir: join(root, 'slots'),
    slotDir: (slot: SlotId) => join(root, 'slots', slot),
    current: join(root, 'current'),
    record: join(root, 'slots.json'),
    /** What `current` holds when it points at `slot` (relative, so the root can move). */
    linkTarget: (slot: SlotId) => `slots/${slot}`,
  };
}

/**
 * Application slots in plain directories: `ROOT/current` is a symlink to `slots/A` or `slots/B`, switched by
 * rename(2); `ROOT/slots.json` (replaced atomically) records the committed slot, the trial and what each
 * slot holds. The agent is the bootloader here: `recordBootAttempt()` at every agent start and `activate()`
 * perform the boot step (count the trial start, or fall back when attempts are used up) and point `current`
 * where it says. Every step is ordered so that a power cut leaves `current` at a complete slot and a record
 * from which the next start converges: the record changes first, the link follows.
 */
export class DirectorySlotBackend implements SlotBackend {
  readonly kind = 'directory' as const;
  readonly activation = 'restart' as const;
  readonly accepts = ['directory'] as const;
  private readonly layout: ReturnType<typeof directorySlotLayout>;
  private readonly file: SlotRecordFile;
  private readonly logger: Logger;
  private readonly onStep: SlotStepHook;
  private readonly queue = new SerialQueue();

  constructor(private readonly options: DirectorySlotOptions) {
    this.layout = directorySlotLayout(options.root);
    this.file = new SlotRecordFile(this.layout.record, `directory slot record ${this.layout.record}`);
    this.logger = options.logger.child({ component: 'slots', backend: 'directory' });
    this.onStep = options.onStep ?? (() => undefined);
  }

  state(): Promise<SlotState> {
    return this.queue.run(async () => (await this.read()).state);
  }

  recordBootAttempt(): Promise<SlotState> {
    return this.queue.run(async () => {
      await this.boot('boot');
      return (await this.read()).state;
    });
  }

  install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    return this.queue.run(async () => {
      checkSlotId(slot);
      const checked = checkSlotContents(contents);
      const dirSource = checkDirectorySource(source);
      const { state, record } = await this.read();
      assertInstallTarget(state, slot);
      const from = resolve(dirSource.path);
      if (from === resolve(this.options.root) || from.startsWith(`${resolve(this.layout.slotsDir)}${sep}`)) {
        throw new SlotError(
          'SLOT_INVALID_ARGUMENT',
          `install source ${dirSource.path} is a slot or the slot root itself`,
        );
      }
      const info = await lstat(dirSource.path).catch(() => undefined);
      if (!info?.isDirectory()) {
        throw new SlotError('SLOT_INVALID_ARGUMENT', `install source ${dirSource.path} is not a directory`);
      }
      try {
        await this.writeSlot(slot, dirSource, checked, record);
      } catch (e) {
        throw asSlotError(e, `installing into slot ${slot}`);
      }
      this.logger.info({ slot, version: checked.version }, 'slot installed');
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

  commit(): Promise<SlotState> {
    return this.queue.run(async () => {
      const { state, record } = await this.read();
      if (commitDecision(state) === 'noop' || state.trial === undefined) return state;
      await this.onStep('commit:record');
      await this.file.write({ ...record, committed: state.trial.slot, trial: null, failedTrial: null });
      this.logger.info({ slot: state.trial.slot }, 'trial committed');
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

  activate(): Promise<void> {
    return this.queue.run(async () => {
      await this.boot('activate');
      await this.onStep('activate:restart');
      await this.options.restart();
    });
  }

  /** The boot step: decide from the record, write the record, then point `current` (in that order). */
  private async boot(phase: 'boot' | 'activate'): Promise<void> {
    const record = await this.file.read();
    const committed = requireCommitted(record, this.layout.record);
    const step = bootStep({
      committed,
      trial: orUndefined(record.trial),
      failedTrial: orUndefined(record.failedTrial),
    });
    if (!(await isDirectory(this.layout.slotDir(step.run)))) {
      throw slotStateCorrupt(`slot ${step.run}`, `${this.layout.slotDir(step.run)} is missing`);
    }
    const next: SlotRecord = {
      ...record,
      trial: orNull(step.record.trial),
      failedTrial: orNull(step.record.failedTrial),
    };
    if (JSON.stringify(next) !== JSON.stringify(record)) {
      await this.onStep(`${phase}:record`);
      await this.file.write(next);
      if (step.record.failedTrial !== undefined && record.failedTrial === null) {
        this.logger.warn(
          { failedTrial: step.record.failedTrial },
          'trial attempts exhausted: back to the committed slot',
        );
      }
    }
    const target = this.layout.linkTarget(step.run);
    if ((await readlink(this.layout.current).catch(() => undefined)) !== target) {
      await this.onStep(`${phase}:switch`);
      await replaceSymlink(this.layout.current, target);
      this.logger.info({ slot: step.run, phase }, 'current switched');
    }
  }

  /**
   * Invalidate the slot's record entry, move the tree in under a temporary name, sync it, swap it in for the
   * old tree, then record the new contents: until that last write the slot reads as empty.
   */
  private async writeSlot(
    slot: SlotId,
    source: DirectoryInstallSource,
    contents: SlotContents,
    record: SlotRecord,
  ): Promise<void> {
    const { slotsDir } = this.layout;
    const dest = this.layout.slotDir(slot);
    if (record.versions[slot] !== null && record.versions[slot] !== undefined) {
      await this.onStep('install:invalidate');
      await this.file.write(withVersion(record, slot, null));
    }
    await this.onStep('install:clean');
    await removeLeftovers(slotsDir, slot);
    const suffix = randomBytes(4).toString('hex');
    const incoming = join(slotsDir, `.${slot}.incoming-${suffix}`);
    await this.onStep('install:move');
    await moveTree(source.path, incoming);
    await this.onStep('install:sync');
    await fsyncTree(incoming);
    const retired = join(slotsDir, `.${slot}.retired-${suffix}`);
    if (await pathExists(dest)) {
      await this.onStep('install:retire');
      await rename(dest, retired);
    }
    await this.onStep('install:place');
    await rename(incoming, dest);
    await fsyncPath(slotsDir);
    await this.onStep('install:record');
    await this.file.write(withVersion(await this.file.read(), slot, contents));
    await this.onStep('install:cleanup');
    await rm(retired, { recursive: true, force: true });
  }

  private async read(): Promise<{ state: SlotState; record: SlotRecord }> {
    const record = await this.file.read();
    const committed = requireCommitted(record, this.layout.record);
    let link: string;
    try {
      link = await readlink(this.layout.current);
    } catch (e) {
      throw slotStateCorrupt(`link ${this.layout.current}`, `not a readable symlink (${(e as Error).message})`, e);
    }
    const booted = SLOT_IDS.find((s) => this.layout.linkTarget(s) === link);
    if (booted === undefined) throw slotStateCorrupt(`link ${this.layout.current}`, `points at ${link}, not a slot`);
    for (const slot of SLOT_IDS) {
      if (record.versions[slot] && !(await isDirectory(this.layout.slotDir(slot)))) {
        throw slotStateCorrupt(`slot ${slot}`, `recorded as installed but ${this.layout.slotDir(slot)} is missing`);
      }
    }
    const state: SlotState = {
      booted,
      committed,
      trial: orUndefined(record.trial),
      failedTrial: orUndefined(record.failedTrial),
      versions: versionsOf(record),
    };
    return { state, record };
  }
}

function checkDirectorySource(source: InstallSource): DirectoryInstallSource {
  if (source.kind !== 'directory') {
    throw new SlotError('SLOT_SOURCE_UNSUPPORTED', `directory slots install a directory, not a ${source.kind}`);
  }
  return source;
}

function requireCommitted(record: SlotRecord, path: string): SlotId {
  if (record.committed === undefined) throw slotStateCorrupt(`directory slot record ${path}`, 'no committed slot');
  return record.committed;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() === true;
}

/** Staging and retired trees a power cut left behind for `slot`. */
async function removeLeftovers(slotsDir: string, slot: SlotId): Promise<void> {
  for (const name of await readdir(slotsDir)) {
    if (name.startsWith(`.${slot}.`)) await rm(join(slotsDir, name), { recursive: true, force: true });
  }
}

export interface DirectoryProvisionOptions {
  readonly root: string;
  readonly logger: Logger;
  /** The factory release for slot A (moved in), or nothing for an empty slot A. */
  readonly factory?: { readonly source: DirectoryInstallSource; readonly contents: SlotContents };
}

/**
 * First-boot setup (image build or installer): slot A committed and current, slot B empty. The record is
 * written last, so an interrupted provisioning can simply run again; an existing record is never replaced.
 */
export async function provisionDirectorySlots(options: DirectoryProvisionOptions): Promise<void> {
  const layout = directorySlotLayout(options.root);
  const file = new SlotRecordFile(layout.record);
  if ((await file.readIfExists().catch(() => 'corrupt' as const)) !== undefined) {
    throw new SlotError('SLOT_ALREADY_PROVISIONED', `${layout.record} exists: these slots are provisioned`);
  }
  const contents = options.factory ? checkSlotContents(options.factory.contents) : null;
  try {
    await mkdir(layout.slotsDir, { recursive: true });
    await rm(layout.slotDir('A'), { recursive: true, force: true });
    if (options.factory) await moveTree(options.factory.source.path, layout.slotDir('A'));
    else await mkdir(layout.slotDir('A'));
    await fsyncTree(layout.slotDir('A'));
    await fsyncPath(layout.slotsDir);
    await replaceSymlink(layout.current, layout.linkTarget('A'));
    await file.write({
      schemaVersion: 1,
      committed: 'A',
      trial: null,
      failedTrial: null,
      versions: { A: contents, B: null },
    });
  } catch (e) {
    throw asSlotError(e, `provisioning ${options.root}`);
  }
  options.logger.info({ root: options.root }, 'directory slots provisioned');
}

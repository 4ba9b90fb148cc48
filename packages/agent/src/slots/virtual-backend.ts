import type { Logger } from 'pino';
import { SlotError, slotStateCorrupt } from './errors.js';
import { orNull, orUndefined, parseSlotRecord, versionsOf, withVersion } from './record-file.js';
import { SerialQueue } from './serial.js';
import { assertArmable, assertInstallTarget, bootStep, checkSlotId, commitDecision, rolledBack } from './rules.js';
import { checkSlotContents, type SlotRecord } from './schema.js';
import type { InstallSource, SlotBackend, SlotContents, SlotId, SlotState, SlotStepHook } from './types.js';

/**
 * Where a virtual device keeps its slot record: a string per key, synchronous (an in-memory map, or a row
 * in the simulator's shared SQLite database through better-sqlite3). It outlives the backend object, the
 * way a device's disk outlives a power cut.
 */
export interface VirtualSlotStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export function memorySlotStore(): VirtualSlotStore & { readonly entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return { entries, get: (key) => entries.get(key), set: (key, value) => void entries.set(key, value) };
}

export interface VirtualSlotOptions {
  readonly store: VirtualSlotStore;
  /** This device's key in the store (e.g. its thing name). */
  readonly key: string;
  /** The simulator reboots the virtual device: a new agent starts and calls recordBootAttempt(). */
  readonly onActivate: () => void | Promise<void>;
  readonly logger?: Logger;
  readonly onStep?: SlotStepHook;
}

/**
 * The simulator's slots: no files, no processes, no timers; one JSON record per device in an injected
 * store, checked on every read like the real records. It behaves as a bootloader with a boot counter: a
 * device start (`recordBootAttempt`) counts a trial boot or falls back when attempts are used up, and
 * `activate()` asks the simulator to reboot the device. Installs record contents without reading the source.
 */
export class VirtualSlotBackend implements SlotBackend {
  readonly kind = 'virtual' as const;
  readonly activation = 'reboot' as const;
  readonly accepts = ['directory', 'image'] as const;
  private readonly onStep: SlotStepHook;
  private readonly queue = new SerialQueue();

  constructor(private readonly options: VirtualSlotOptions) {
    this.onStep = options.onStep ?? (() => undefined);
  }

  state(): Promise<SlotState> {
    return Promise.resolve().then(() => this.view(this.read()));
  }

  recordBootAttempt(): Promise<SlotState> {
    return this.queue.run(() => this.recordBootAttemptNow());
  }

  install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    return this.queue.run(() => this.installNow(slot, source, contents));
  }

  armTrial(slot: SlotId, maxAttempts: number): Promise<SlotState> {
    return this.queue.run(() => this.armTrialNow(slot, maxAttempts));
  }

  commit(): Promise<SlotState> {
    return this.queue.run(() => this.commitNow());
  }

  rollback(): Promise<SlotState> {
    return this.queue.run(() => this.rollbackNow());
  }

  activate(): Promise<void> {
    return this.queue.run(() => this.activateNow());
  }

  private async recordBootAttemptNow(): Promise<SlotState> {
    const record = this.read();
    const step = bootStep({
      committed: requireCommitted(record, this.options.key),
      trial: orUndefined(record.trial),
      failedTrial: orUndefined(record.failedTrial),
    });
    await this.onStep('boot:record');
    const next: SlotRecord = {
      ...record,
      booted: step.run,
      trial: orNull(step.record.trial),
      failedTrial: orNull(step.record.failedTrial),
    };
    this.write(next);
    if (step.record.failedTrial !== undefined && orUndefined(record.failedTrial) !== step.record.failedTrial) {
      this.options.logger?.warn({ failedTrial: step.record.failedTrial }, 'virtual trial attempts exhausted');
    }
    return this.view(next);
  }

  private async installNow(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    checkSlotId(slot);
    const checked = checkSlotContents(contents);
    if (!this.accepts.includes(source.kind)) {
      throw new SlotError('SLOT_SOURCE_UNSUPPORTED', `virtual slots cannot install a ${String(source.kind)}`);
    }
    const record = this.read();
    assertInstallTarget(this.view(record), slot);
    await this.onStep('install:invalidate');
    this.write(withVersion(record, slot, null));
    await this.onStep('install:record');
    this.write(withVersion(this.read(), slot, checked));
  }

  private async armTrialNow(slot: SlotId, maxAttempts: number): Promise<SlotState> {
    checkSlotId(slot);
    const record = this.read();
    assertArmable(this.view(record), slot, maxAttempts);
    await this.onStep('arm:record');
    return this.commitRecord({ ...record, trial: { slot, attempts: 0, maxAttempts }, failedTrial: null });
  }

  private async commitNow(): Promise<SlotState> {
    const record = this.read();
    const state = this.view(record);
    if (commitDecision(state) === 'noop' || state.trial === undefined) return state;
    await this.onStep('commit:record');
    return this.commitRecord({ ...record, committed: state.trial.slot, trial: null, failedTrial: null });
  }

  private async rollbackNow(): Promise<SlotState> {
    const record = this.read();
    const state = this.view(record);
    if (state.trial === undefined) return state;
    await this.onStep('rollback:record');
    return this.commitRecord({ ...record, trial: null, failedTrial: rolledBack(state.trial) });
  }

  private async activateNow(): Promise<void> {
    await this.onStep('activate:reboot');
    await this.options.onActivate();
  }

  private commitRecord(record: SlotRecord): SlotState {
    this.write(record);
    return this.view(record);
  }

  private read(): SlotRecord {
    const text = this.options.store.get(this.options.key);
    const what = `virtual slot record ${this.options.key}`;
    if (text === undefined) throw slotStateCorrupt(what, 'missing');
    return parseSlotRecord(text, what);
  }

  private write(record: SlotRecord): void {
    this.options.store.set(this.options.key, JSON.stringify(record));
  }

  private view(record: SlotRecord): SlotState {
    const committed = requireCommitted(record, this.options.key);
    return {
      booted: record.booted ?? committed,
      committed,
      trial: orUndefined(record.trial),
      failedTrial: orUndefined(record.failedTrial),
      versions: versionsOf(record),
    };
  }
}

function requireCommitted(record: SlotRecord, key: string): SlotId {
  if (record.committed === undefined) throw slotStateCorrupt(`virtual slot record ${key}`, 'no committed slot');
  return record.committed;
}

/** A factory-fresh virtual device: slot A committed and booted, holding `factory` (or nothing). */
export function provisionVirtualSlots(store: VirtualSlotStore, key: string, factory?: SlotContents): void {
  if (store.get(key) !== undefined) {
    throw new SlotError('SLOT_ALREADY_PROVISIONED', `virtual slot record ${key} exists`);
  }
  const record: SlotRecord = {
    schemaVersion: 1,
    committed: 'A',
    booted: 'A',
    trial: null,
    failedTrial: null,
    versions: { A: factory === undefined ? null : checkSlotContents(factory), B: null },
  };
  store.set(key, JSON.stringify(record));
}

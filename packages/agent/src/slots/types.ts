import type { Logger } from 'pino';
import { SLOTS, type Slot, type SlotContent } from '@otafleet/protocol';

/** The two halves of an A/B device (protocol's `Slot`). */
export type SlotId = Slot;
export const SLOT_IDS: readonly SlotId[] = SLOTS;

/**
 * What a slot holds: the verified release written into it. The reported part is protocol's SlotContent
 * (name, version, securityVersion); the device also keeps the signed manifest's SHA-256, the release's identity.
 */
export interface SlotContents extends SlotContent {
  readonly manifestSha256: string;
}

/** A trial: `slot` runs uncommitted for at most `maxAttempts` boots (bootloader slots) or starts (directory slots). */
export interface SlotTrial {
  readonly slot: SlotId;
  /** Boots/starts of the trial slot used so far, counting the one running now. */
  readonly attempts: number;
  readonly maxAttempts: number;
}

/**
 * Why a trial ended without a commit.
 * - `attempts-exhausted`: the slot was started `maxAttempts` times without a commit, so the bootloader (or,
 *   for directory and virtual slots, the agent's boot step) went back to the committed slot by itself.
 * - `rolled-back`: `rollback()` was called (the agent decided: failed health check, deadline, operator).
 */
export type TrialFailureReason = 'attempts-exhausted' | 'rolled-back';

export interface FailedTrial extends SlotTrial {
  readonly reason: TrialFailureReason;
}

/** Everything a starting agent needs to tell what happened, read from the device's own records. */
export interface SlotState {
  /** The slot running now. */
  readonly booted: SlotId;
  /** The slot that boots/starts when no trial is armed. */
  readonly committed: SlotId;
  /** A trial that is armed (not booted yet) or running (`booted === trial.slot`), uncommitted. */
  readonly trial: SlotTrial | undefined;
  /** The last trial that ended without a commit; replaced by the next `armTrial`, cleared by `commit`. */
  readonly failedTrial: FailedTrial | undefined;
  /** What each slot holds; absent: empty, or an install into it did not finish. */
  readonly versions: Readonly<Partial<Record<SlotId, SlotContents>>>;
}

/** A verified, extracted application tree. It is moved into the slot (copied, then removed, across file systems). */
export interface DirectoryInstallSource {
  readonly kind: 'directory';
  readonly path: string;
}

/** A verified image (a bundle's rootfs payload) written raw to the slot's partition or image file. */
export interface ImageInstallSource {
  readonly kind: 'image';
  readonly path: string;
  /** Exact byte count; a different length is SLOT_IMAGE_MISMATCH. */
  readonly size: number;
  /** When given, the written bytes are read back and must hash to this (lowercase hex SHA-256). */
  readonly sha256?: string;
}

export type InstallSource = DirectoryInstallSource | ImageInstallSource;
export type InstallSourceKind = InstallSource['kind'];

export type SlotBackendKind = 'directory' | 'uboot' | 'grub' | 'tryboot' | 'virtual' | 'agent';

/**
 * One A/B slot mechanism. Every method reads the device's records afresh (nothing is trusted from memory
 * across a power cut), refuses with a SlotError whose `code` says why, and is durable before it resolves.
 *
 * The update flow: `install(inactive)` → `armTrial(inactive, n)` → `activate()` → (new boot/start)
 * `recordBootAttempt()` → health checks → `commit()` or `rollback()` + `activate()`.
 */
export interface SlotBackend {
  readonly kind: SlotBackendKind;
  /** What makes a switch take effect: restarting the application, or rebooting the device. */
  readonly activation: 'restart' | 'reboot';
  /** The install sources this backend writes. */
  readonly accepts: readonly InstallSourceKind[];
  /** Reads the state; changes nothing. */
  state(): Promise<SlotState>;
  /**
   * Call once per agent start, before anything else. Where the agent itself is the "bootloader" (directory,
   * virtual), this is the boot step: it counts the start against an armed trial, points the application at
   * the trial slot, or falls back to the committed slot when the attempts are used up. Where a bootloader
   * counted the boot (U-Boot, GRUB), it only reads; tryboot records a fallback the firmware made. Returns the
   * state after the step.
   */
  recordBootAttempt(): Promise<SlotState>;
  /**
   * Writes a verified release into `slot`, which must be neither the booted, the committed, nor an armed
   * trial slot. The slot reads as empty from the first write until everything is durable.
   */
  install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void>;
  /** Arms `slot` (installed, not committed) for at most `maxAttempts` (1–10) boots/starts; the committed slot stays. */
  armTrial(slot: SlotId, maxAttempts: number): Promise<SlotState>;
  /**
   * Makes the running trial slot the committed one. No trial: a no-op. A trial that is armed but not the
   * booted slot: SLOT_TRIAL_NOT_BOOTED (an unverified release is never committed). Returns the state after.
   */
  commit(): Promise<SlotState>;
  /**
   * Disarms the trial (recorded as `failedTrial` with reason `rolled-back`); the committed slot boots/starts
   * again at the next `activate()` (or boot). No trial: a no-op. Returns the state after.
   */
  rollback(): Promise<SlotState>;
  /** Makes the armed trial or the rollback take effect: the injected restart or reboot. */
  activate(): Promise<void>;
}

/**
 * Called at each named step of a multi-step change, before the step; tests pause or kill a process here to
 * simulate a power cut, the simulator injects crashes. Resolving lets the step run.
 */
export type SlotStepHook = (step: string) => void | Promise<void>;

/** Options every backend takes. */
export interface SlotBackendCommonOptions {
  readonly logger: Logger;
  readonly onStep?: SlotStepHook;
}

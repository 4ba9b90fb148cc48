// The agent's A/B slot backends (docs/agent-slots.md): one SlotBackend interface over directory slots,
// U-Boot, GRUB, Raspberry Pi tryboot and the simulator's virtual slots.
export {
  SLOT_IDS,
  type SlotId,
  type SlotContents,
  type SlotTrial,
  type FailedTrial,
  type TrialFailureReason,
  type SlotState,
  type InstallSource,
  type InstallSourceKind,
  type DirectoryInstallSource,
  type ImageInstallSource,
  type SlotBackend,
  type SlotBackendKind,
  type SlotBackendCommonOptions,
  type SlotStepHook,
} from './types.js';
export { SLOT_ERROR_CODES, SlotError, isSlotError, type SlotErrorCode } from './errors.js';
export { MAX_TRIAL_ATTEMPTS } from './schema.js';
export { isSlotId, isTrialRunning, inactiveSlot } from './rules.js';
export { slotContentsOf, imageSourceOf } from './bundle-sources.js';
export { slotErrorReasonCode, failedTrialReasonCode, type SlotOperationKind } from './reason-codes.js';
export { execTool, type ExecTool, type ExecResult } from './exec.js';
export { SLOT_CMDLINE_PARAMETER, DEFAULT_CMDLINE_PATH } from './kernel-cmdline.js';
export {
  DirectorySlotBackend,
  provisionDirectorySlots,
  directorySlotLayout,
  type DirectorySlotOptions,
  type DirectoryProvisionOptions,
} from './directory-backend.js';
export { BootloaderSlotBackend, type BootloaderSlotOptions } from './bootloader-backend.js';
export {
  createUbootSlotBackend,
  provisionUbootSlots,
  type UbootSlotOptions,
  type UbootToolOptions,
} from './uboot-backend.js';
export { UBOOT_VARS, UBOOT_DEFAULT_ENV, ubootEnvText } from './uboot-script.js';
export {
  createGrubSlotBackend,
  provisionGrubSlots,
  type GrubSlotOptions,
  type GrubToolOptions,
} from './grub-backend.js';
export { GRUB_VARS, GRUB_SLOT_SCRIPT } from './grub-script.js';
export {
  TrybootSlotBackend,
  provisionTrybootSlots,
  TRYBOOT_REBOOT_ARGUMENT,
  PLAIN_REBOOT_ARGUMENT,
  type TrybootSlotOptions,
} from './tryboot-backend.js';
export { renderAutoboot, parseAutoboot, AUTOBOOT_MAX_BYTES, type AutobootConfig } from './autoboot-txt.js';
export { DEFAULT_BOOTLOADER_DT_DIR, deviceTreeCell } from './device-tree.js';
export {
  VirtualSlotBackend,
  provisionVirtualSlots,
  memorySlotStore,
  type VirtualSlotStore,
  type VirtualSlotOptions,
} from './virtual-backend.js';

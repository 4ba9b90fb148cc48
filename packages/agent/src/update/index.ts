export {
  UPDATE_STATES,
  UPDATE_STATE_NAMES,
  UPDATE_EVENTS,
  RETIRED_UPDATE_STATE_IDS,
  updateStateName,
  type UpdateStateName,
  type UpdateStateId,
  type UpdateEvent,
} from './states.js';
export { UPDATE_TRANSITIONS, nextUpdateState, statesTaking, SWITCHED_STATES } from './transitions.js';
export type { UpdateRecord, UpdatePatch, UpdateVerdict } from './record.js';
export { decideRecovery, deadlinePatch, type RecoveryInput, type RecoveryDecision } from './recovery.js';
export { runUpdateFlow, stateStep, type FlowEnd } from './machine.js';
export { DEFAULT_UPDATE_LIMITS, type UpdateLimits, type UpdateContext, type JobStatusSink } from './context.js';
export {
  systemAgentClock,
  type AgentClock,
  type BundleFetcher,
  type BundleInstaller,
  type FetchRequest,
  type FetchedBundle,
  type PreparedInstall,
  type StepHook,
} from './ports.js';
export type { FlowSignals } from './signals.js';
export { createHttpBundleFetcher, createDirectoryBundleInstaller } from './bundle-adapters.js';

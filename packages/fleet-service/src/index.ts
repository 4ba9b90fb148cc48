export {
  ROLLOUT_STATUSES,
  ROLLOUT_EVENTS,
  OPERATOR_ACTIONS,
  WAVE_STATUSES,
  WAVE_EVENTS,
  ROLLOUT_TRANSITIONS,
  WAVE_TRANSITIONS,
  nextRolloutStatus,
  nextWaveStatus,
  isFinalRolloutStatus,
  isRolloutStopped,
  WaveSpecSchema,
  MAX_WAVES,
  checkWaves,
  defaultWaveName,
  rolloutRank,
  planWaves,
  waveForLateJoiner,
  GateConfigSchema,
  DEFAULT_GATE,
  evaluateGate,
} from './rollout/index.js';
export type {
  RolloutStatus,
  RolloutEvent,
  OperatorAction,
  WaveStatus,
  WaveEvent,
  IllegalTransition,
  WaveSpec,
  WavePlanIssue,
  PlannedWave,
  GateConfig,
  WaveInstallCounts,
  HealthSample,
  GateInput,
  GateFinding,
  GateVerdict,
} from './rollout/index.js';
export { openSqliteRolloutStore, ROLLOUT_STORE_FILE_VERSION } from './store/index.js';
export type {
  RolloutTarget,
  BreachAction,
  RolloutDefinition,
  RolloutRecord,
  WaveRecord,
  AuditEntry,
  StoreError,
  ChangeContext,
  WaveChange,
  RolloutStore,
} from './store/index.js';
export { openSqliteHealthStore, DEAD_LETTER_MAX_BYTES, startHealthIngest } from './health/index.js';
export type {
  DeviceHealth,
  DeadLetter,
  IngestOutcome,
  IncomingMessage,
  HealthCounts,
  HealthStore,
  HealthIngest,
  HealthIngestOptions,
} from './health/index.js';
export { openBundleStore, bundleFileIntact } from './bundles/index.js';
export type { StoredBundle, BundleStoreError, PutOptions, BundleStore } from './bundles/index.js';
export {
  createRolloutEngine,
  RolloutEngineError,
  installDocument,
  rollbackDocument,
  DEFAULT_DEVICE_POLICY,
  waveGroupName,
  waveJobId,
  rollbackJobId,
  countsOf,
} from './engine/index.js';
export type { RolloutEngine, RolloutEngineDeps, TickOutcome, DeviceUpdatePolicy, JobSpec } from './engine/index.js';
export { buildApi, openTokenStore, ROLES, roleAtLeast } from './api/index.js';
export type { ApiDeps, Caller, Role, TokenStore, CreateRolloutBody } from './api/index.js';
export { CreateRolloutBodySchema } from './api/index.js';
export { startFleetService, bundleUrlKeyText } from './app/fleet-service.js';
export type { FleetService, FleetServiceConfig, IotEndpoints } from './app/fleet-service.js';
export { loadStackConfig, withFleetDataDir, StackConfigError } from './app/stack-config.js';

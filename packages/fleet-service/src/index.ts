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
export {
  openBundleStore,
  bundleFileIntact,
  openS3BundleStore,
  openBundleBackend,
  presignedUrlPlaceholder,
  s3ObjectUrl,
} from './bundles/index.js';
export type {
  StoredBundle,
  BundleStoreError,
  PutOptions,
  BundleStore,
  S3BundleStore,
  S3BundleStoreOptions,
  S3BundleConfig,
  BundleBackend,
  BundleBackendConfig,
} from './bundles/index.js';
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
export {
  openDeviceIndex,
  DeviceIndexError,
  createEnrolment,
  createGroups,
  deviceHistory,
  checkCsr,
  generateKeyAndCsr,
  ensureQueryGroup,
  queryGroupName,
} from './devices/index.js';
export type {
  DeviceIndex,
  DeviceFilter,
  DeviceView,
  EnrolledDevice,
  Enrolment,
  EnrolRequest,
  EnrolResult,
  CertificateRequest,
  Groups,
  GroupView,
  DeviceHistory,
  HistoryEntry,
} from './devices/index.js';
export type { DeviceApiDeps } from './api/devices-routes.js';
export { MAX_BULK_DEVICES } from './api/device-schemas.js';
export type { EnrolBody } from './api/device-schemas.js';
export {
  ServiceConfigFileSchema,
  ServiceConfigError,
  parseServiceConfig,
  readServiceConfigFile,
  loadServiceConfig,
  SERVICE_USAGE,
  serviceConfigFrom,
} from './app/service-config.js';
export type { ServiceConfigFile } from './app/service-config.js';
export {
  planMaintenance,
  MaintenanceSchema,
  AWS_WINDOW_MINUTES,
  zoneOffsetMinutes,
} from './rollout/maintenance-windows.js';
export type {
  MaintenanceInput,
  MaintenancePlan,
  AwsMaintenanceWindow,
  FieldIssue,
} from './rollout/maintenance-windows.js';
export { checkRolloutRate, RolloutRateSchema, AWS_RATE_LIMITS } from './rollout/rollout-rate.js';
export type { RolloutRate } from './rollout/rollout-rate.js';
export { createServiceMetrics, LATENCY_BUCKETS_SECONDS } from './api/metrics.js';
export type { ServiceMetrics } from './api/metrics.js';
export { createTokenBuckets, DEFAULT_RATE_LIMIT } from './api/rate-limit.js';
export type { RateLimitConfig } from './api/rate-limit.js';
export {
  takeBackup,
  restoreBackup,
  listBackups,
  pruneBackups,
  backupTarget,
  backupNameAt,
  BackupError,
  FLEET_DATABASES,
} from './backup/fleet-backup.js';
export type { BackupInfo, RestoreReport } from './backup/fleet-backup.js';
export { startBackups, checkBackupSchedule, BackupScheduleError } from './backup/backup-schedule.js';
export type { BackupService, BackupScheduleConfig } from './backup/backup-schedule.js';
export { CreateRolloutBodySchema } from './api/index.js';
export { startFleetService, bundleUrlKeyText } from './app/fleet-service.js';
export type { FleetService, FleetServiceConfig, IotEndpoints } from './app/fleet-service.js';
export { loadStackConfig, withFleetDataDir, StackConfigError, LOCAL_STACK_TOKEN_FILE } from './app/stack-config.js';

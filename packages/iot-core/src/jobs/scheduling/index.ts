/**
 * CreateJob's schedulingConfig: validation, AWS cron maintenance windows, and the scheduling phase of a job at an
 * instant. Pure: the clock is an argument. Semantics in docs/iot-core-search-and-scheduling.md.
 */
export {
  CRON_FIRST_YEAR,
  CRON_LAST_YEAR,
  parseAwsCron,
  type AwsCron,
  type AwsCronError,
  type DaySpec,
} from './aws-cron.js';
export { nextCronFire } from './cron-next.js';
export { parseScheduleTimestamp } from './schedule-timestamp.js';
export {
  JOB_END_BEHAVIORS,
  SCHEDULING_LIMITS,
  validateSchedulingConfig,
  type JobEndBehavior,
  type MaintenanceWindowInput,
  type SchedulingConfigError,
  type SchedulingConfigInput,
  type ValidMaintenanceWindow,
  type ValidScheduling,
} from './scheduling-config.js';
export {
  MAX_MERGED_OCCURRENCES,
  endAction,
  schedulingPhase,
  upcomingRolloutStarts,
  type SchedulingPhase,
  type SchedulingPhaseName,
} from './scheduling-phase.js';

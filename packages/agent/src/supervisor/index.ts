export {
  createApplicationSupervisor,
  type ApplicationSupervisorOptions,
  type SupervisedApplication,
} from './application-supervisor.js';
export { crashLoopIn, DEFAULT_CRASH_LOOP_RULE, type CrashLoopRule } from './crash-loop.js';
export { RestartBackoff, DEFAULT_RESTART_BACKOFF, type RestartBackoffOptions } from './restart-backoff.js';

export {
  resolveBootIdentity,
  KERNEL_BOOT_ID_PATH,
  readKernelBootId,
  type KernelBootIdSource,
  type BootIdentity,
  type BootIdentityOptions,
} from './boot-identity.js';
export { takeSequence } from './sequence.js';
export { buildHealthReport, type HealthReportInputs } from './build-report.js';
export { HealthReporter, type HealthReporterOptions } from './health-reporter.js';

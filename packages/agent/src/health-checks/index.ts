export { createHealthCheckRunner, type HealthRunnerOptions } from './health-runner.js';
export { describeCheck, type CheckOutcome } from './check-outcome.js';

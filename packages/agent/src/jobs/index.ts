export { JobsClient, JobsRequestTimeout, type JobsAnswer, type JobsClientOptions } from './jobs-client.js';
export { JobReporter, type JobReporterOptions, type JobUpdateOutcome } from './job-reporter.js';
export { JobsRunner, type JobsRunnerOptions } from './jobs-runner.js';

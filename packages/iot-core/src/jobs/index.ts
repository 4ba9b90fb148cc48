export { createJobsService, type JobsService, type JobsServiceOptions } from './service.js';

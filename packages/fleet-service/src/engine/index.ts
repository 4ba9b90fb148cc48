export * from './wave-jobs.js';
export * from './job-documents.js';
export * from './rollout-engine.js';

export * from './types.js';
export * from './sqlite-health-store.js';
export * from './health-ingest.js';

export * from './bus.js';
export * from './db.js';
export * from './registry-types.js';
export * from './aws-error.js';
export type * from './service-contracts.js';

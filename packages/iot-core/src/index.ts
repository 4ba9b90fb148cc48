export * from './bus.js';
export * from './db.js';
export * from './registry-types.js';
export * from './aws-error.js';
export type * from './service-contracts.js';
export * from './bus/topic-filter.js';
export * from './bus/aedes-bus.js';
export * from './broker/embedded-broker.js';

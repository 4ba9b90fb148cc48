export * from './types.js';
export * from './sqlite-rollout-store.js';

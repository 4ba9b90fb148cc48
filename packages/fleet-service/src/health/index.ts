export * from './types.js';
export * from './sqlite-health-store.js';

export * from './bus.js';
export * from './db.js';
export * from './registry-types.js';

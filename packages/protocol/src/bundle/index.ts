export * from './errors.js';
export * from './canonical.js';
export * from './manifest.js';
export * from './container.js';
export * from './trust.js';

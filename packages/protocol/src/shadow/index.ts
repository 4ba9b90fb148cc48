export * from './limits.js';
export * from './errors.js';
export * from './topics.js';
export * from './schemas.js';
export * from './document.js';
export * from './requests.js';
export * from './operations.js';

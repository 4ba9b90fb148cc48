export * from './slots/index.js';
export * from './download/index.js';

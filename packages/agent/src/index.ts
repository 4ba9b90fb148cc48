export * from './slots/index.js';

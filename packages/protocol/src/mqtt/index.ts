export * from './topic-filter.js';
export * from './thing-namespace.js';

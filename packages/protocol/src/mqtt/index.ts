export * from './topic-filter.js';
export * from './thing-namespace.js';
export * from './shared-subscription.js';
export * from './lifecycle-events.js';

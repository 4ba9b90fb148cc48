export * from './result.js';
export * from './json.js';
export * from './schema.js';
export * from './names.js';
export * from './shadow/index.js';
export * from './jobs/index.js';
export * from './ota/index.js';
export * from './bundle/index.js';

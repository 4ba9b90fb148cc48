export * from './result.js';
export * from './json.js';
export * from './schema.js';

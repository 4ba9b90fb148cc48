export * from './tokens.js';
export * from './schemas.js';
export * from './build-api.js';

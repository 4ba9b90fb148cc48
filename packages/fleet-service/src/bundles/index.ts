export * from './bundle-store.js';
export * from './types.js';
export * from './s3-bundle-store.js';
export * from './bundle-backend.js';

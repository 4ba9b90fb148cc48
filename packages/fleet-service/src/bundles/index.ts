export * from './bundle-store.js';

// sim-runtime: the virtual fleet
export * from './fleet/contracts.js';

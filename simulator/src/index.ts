// sim-runtime: the virtual fleet
export * from './fleet/contracts.js';
// sim-scenario: scenario files, the runner, the report
export * from './scenario/index.js';

// sim-runtime: the virtual fleet
export * from './fleet/contracts.js';
export { startVirtualFleet, VirtualFleetError } from './fleet/fleet.js';
export { applyFleetFaults, FleetFaultError, type FleetFaultRule } from './faults/percentages.js';
export { seededRandom, randomFor, pickIndices, type Random } from './faults/random.js';
// sim-scenario: scenario files, the runner, the report
export * from './scenario/index.js';
export * from './run/index.js';
export * from './report/index.js';

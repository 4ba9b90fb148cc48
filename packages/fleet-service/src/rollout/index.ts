export * from './states.js';
export * from './transitions.js';
export * from './wave-plan.js';
export * from './health-gate.js';

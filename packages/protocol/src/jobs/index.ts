export * from './names.js';
export * from './topics.js';
export * from './states.js';
export * from './payloads.js';
export * from './errors.js';
export * from './requests.js';
export * from './transitions.js';
export * from './events.js';

export { createThingRegistry, type ThingRegistry, type ThingRegistryOptions } from './thing-registry.js';

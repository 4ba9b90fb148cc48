export { createThingRegistry, type ThingRegistry, type ThingRegistryOptions } from './thing-registry.js';
export { classicShadowFrom, trackBrokerConnectivity, type BrokerConnectivity } from './fleet-index-sources.js';
export type { ClassicShadowReader, ConnectivityLookup, FleetIndexSources } from './fleet-index.js';
export type { RegistryDurability, WriteBatchObserver } from './registry-commit.js';

import type { EmbeddedBroker } from '../broker/embedded-broker.js';
import type { ShadowControlPlane } from '../service-contracts.js';
import { classicShadowFrom, trackBrokerConnectivity } from './fleet-index-sources.js';
import type { ThingRegistry } from './thing-registry.js';

/** The things among changed shadow keys whose classic shadow changed (named shadows are not indexed locally). */
export const classicShadowThings = (keys: readonly { thingName: string; shadowName?: string }[]): string[] =>
  keys.filter((k) => k.shadowName === undefined).map((k) => k.thingName);

/**
 * Gives the registry's fleet index the classic shadows and, with the embedded broker, connectivity; connect and
 * disconnect events re-evaluate dynamic groups that read connectivity. Shadow changes come in through the Shadow
 * service's `onShadowsChanged` (see local-core.ts).
 */
export function connectRegistryToServices(
  registry: ThingRegistry,
  shadows: Pick<ShadowControlPlane, 'getThingShadow'>,
  broker: Pick<EmbeddedBroker, 'aedes' | 'connectivityOf'> | undefined,
): { close(): void } {
  const connectivity =
    broker === undefined
      ? undefined
      : trackBrokerConnectivity(broker, (thingName) => registry.indexedDataChanged([thingName], ['connectivity']));
  registry.connectFleetIndex({
    shadow: classicShadowFrom(shadows),
    ...(connectivity === undefined ? {} : { connectivity: connectivity.lookup }),
  });
  return { close: () => connectivity?.close() };
}

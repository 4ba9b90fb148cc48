import type { Aedes, Client } from 'aedes';
import { isAwsServiceError } from '../aws-error.js';
import type { ShadowControlPlane } from '../service-contracts.js';
import type { ClassicShadowReader, ConnectivityLookup } from './fleet-index.js';
import type { IndexedConnectivity } from './search/index.js';

/** The classic shadow's desired and reported sections, read through the Shadow service's GetThingShadow. */
export function classicShadowFrom(shadows: Pick<ShadowControlPlane, 'getThingShadow'>): ClassicShadowReader {
  return (thingName) => {
    let document: Buffer;
    try {
      document = shadows.getThingShadow(thingName, undefined);
    } catch (e) {
      if (isAwsServiceError(e) && e.name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
    const { state } = JSON.parse(document.toString('utf8')) as { state?: { reported?: unknown; desired?: unknown } };
    return {
      ...(state?.reported === undefined ? {} : { reported: state.reported }),
      ...(state?.desired === undefined ? {} : { desired: state.desired }),
    };
  };
}

export interface BrokerConnectivity {
  readonly lookup: ConnectivityLookup;
  close(): void;
}

/**
 * Connectivity as fleet indexing reports it (connected, and when that last changed), from the embedded broker's
 * connect and disconnect events, by MQTT client id = thing name (the AWS convention the agent follows). A stand-in
 * until the broker reports disconnect reasons: none is given. Kept in memory: after a restart every thing is
 * disconnected until it connects again, which is what a restart does to its connections.
 */
export function trackBrokerConnectivity(
  aedes: Aedes,
  onChange: (thingName: string) => void,
  now: () => number = Date.now,
): BrokerConnectivity {
  const status = new Map<string, IndexedConnectivity>();
  const set = (client: Client, connected: boolean): void => {
    status.set(client.id, { connected, timestamp: now() });
    onChange(client.id);
  };
  const connected = (client: Client): void => set(client, true);
  const disconnected = (client: Client): void => set(client, false);
  aedes.on('client', connected);
  aedes.on('clientDisconnect', disconnected);
  return {
    lookup: (thingName) => status.get(thingName),
    close() {
      aedes.removeListener('client', connected);
      aedes.removeListener('clientDisconnect', disconnected);
    },
  };
}

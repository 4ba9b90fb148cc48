import type { Client } from 'aedes';
import type { EmbeddedBroker } from '../broker/embedded-broker.js';
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
 * Connectivity as fleet indexing reports it (connected, since when, why it left), read from the embedded broker's
 * presence tracker — the one place that decides it, the same that publishes the lifecycle events — by MQTT client
 * id = thing name (the AWS convention the agent follows). `onChange` runs after each CONNACK and each end of a
 * session, once the tracker has recorded it (its listeners were attached when the broker started, so before these).
 */
export function trackBrokerConnectivity(
  broker: Pick<EmbeddedBroker, 'aedes' | 'connectivityOf'>,
  onChange: (thingName: string) => void,
): BrokerConnectivity {
  const connected = (connack: { returnCode?: number }, client: Client): void => {
    if ((connack.returnCode ?? 0) === 0) onChange(client.id);
  };
  const disconnected = (client: Client): void => onChange(client.id);
  broker.aedes.on('connackSent', connected);
  broker.aedes.on('clientDisconnect', disconnected);
  return {
    lookup: (thingName): IndexedConnectivity | undefined => broker.connectivityOf(thingName),
    close() {
      broker.aedes.removeListener('connackSent', connected);
      broker.aedes.removeListener('clientDisconnect', disconnected);
    },
  };
}

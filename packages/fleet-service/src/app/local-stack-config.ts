import type { LocalCore, LocalCoreConfig } from '@otafleet/iot-core';
import type { FleetServiceConfig } from './fleet-service.js';
import type { ServiceConfigFile } from './service-config.js';

/**
 * The fleet service's configuration for `pnpm start`: the file an AWS deployment writes, filled with the local
 * core's endpoints (its control plane stands in for AWS IoT's, its mutual-TLS broker for the IoT data endpoint)
 * and the bundle store on disk. Nothing else about the local stack reaches the service.
 */
export function localStackServiceConfig(
  fleet: FleetServiceConfig,
  core: LocalCore,
  coreConfig: LocalCoreConfig,
  identity: { readonly certPath: string; readonly keyPath: string; readonly caPath: string },
): ServiceConfigFile {
  return {
    dataDir: fleet.dataDir,
    api: { host: fleet.host, port: fleet.apiPort },
    ...(fleet.trustPath === undefined ? {} : { trust: fleet.trustPath }),
    region: coreConfig.region,
    iot: {
      controlPlaneEndpoint: core.httpEndpoint,
      dataEndpoint: `mqtts://${coreConfig.host}:${core.mqttTlsPort ?? 0}`,
      certFile: identity.certPath,
      keyFile: identity.keyPath,
      caFile: identity.caPath,
      clientId: 'fleet-service',
    },
    healthFilter: fleet.healthFilter,
  };
}

import type { BundleInstallType } from '@otafleet/protocol';

/** Every sample is for these boards; the simulator and local test devices use "sim" and "generic-linux". */
export const SAMPLE_HARDWARE = ['rpi4', 'rpi5', 'generic-linux', 'sim'];
/** Fixed dates keep the bundles byte-for-byte reproducible; expiry is far enough out for tests. */
export const SAMPLE_CREATED_AT = '2026-01-01T00:00:00Z';
export const SAMPLE_EXPIRES_AT = '2036-01-01T00:00:00Z';
export const SAMPLE_MIN_AGENT_VERSION = '0.1.0';

export type AppBehavior = 'healthy' | 'unhealthy' | 'crash';

export interface SampleSpec {
  /** Output file name without extension. */
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly installType: BundleInstallType;
  readonly description: string;
  /** For the http-service app only. */
  readonly behavior?: AppBehavior;
}

export const SAMPLES: readonly SampleSpec[] = [
  {
    file: 'http-service-1.0.0',
    name: 'http-service',
    version: '1.0.0',
    securityVersion: 1,
    installType: 'app-dir',
    behavior: 'healthy',
    description: 'HTTP service with a /health endpoint: the baseline release',
  },
  {
    file: 'http-service-1.1.0',
    name: 'http-service',
    version: '1.1.0',
    securityVersion: 2,
    installType: 'app-dir',
    behavior: 'healthy',
    description: 'A healthy upgrade of http-service',
  },
  {
    file: 'http-service-1.2.0-unhealthy',
    name: 'http-service',
    version: '1.2.0',
    securityVersion: 2,
    installType: 'app-dir',
    behavior: 'unhealthy',
    description: 'Starts and listens, but /health answers 503: the agent must roll back',
  },
  {
    file: 'http-service-1.3.0-crash',
    name: 'http-service',
    version: '1.3.0',
    securityVersion: 2,
    installType: 'app-dir',
    behavior: 'crash',
    description: 'Exits with status 1 on start: the agent must roll back',
  },
  {
    file: 'rootfs-1.0.0',
    name: 'sample-rootfs',
    version: '1.0.0',
    securityVersion: 1,
    installType: 'rootfs-image',
    description: 'A 4 MiB raw root-filesystem image for the inactive slot',
  },
  {
    file: 'hello-script-1.0.0',
    name: 'hello-script',
    version: '1.0.0',
    securityVersion: 1,
    installType: 'script',
    description: 'A one-shot script',
  },
];

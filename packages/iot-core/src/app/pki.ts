import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  caCertPath,
  initCaDirectory,
  issueServerToDirectory,
  issueServiceToDirectory,
  serverCredentialPaths,
  serviceCredentialPaths,
  type CredentialPaths,
} from '../identity/ca-store.js';
import { CORE_SERVICE_NAME, serviceCommonName } from '../identity/principal.js';

export interface CorePki {
  readonly dir: string;
  readonly caPath: string;
  /** The broker's TLS server certificate. */
  readonly server: CredentialPaths;
  /** The core's own privileged identity, for an external broker. */
  readonly service: CredentialPaths;
  readonly serviceCommonName: string;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** First start creates a local CA, a server certificate and the core's service certificate; later starts reuse them. */
export async function ensurePki(dir: string, logger: Logger): Promise<CorePki> {
  if (!(await exists(caCertPath(dir)))) {
    await initCaDirectory(dir);
    logger.info({ dir }, 'created a local certificate authority');
  }
  const server = (await exists(serverCredentialPaths(dir).certPath))
    ? serverCredentialPaths(dir)
    : await issueServerToDirectory(dir);
  const service = (await exists(serviceCredentialPaths(dir, CORE_SERVICE_NAME).certPath))
    ? serviceCredentialPaths(dir, CORE_SERVICE_NAME)
    : await issueServiceToDirectory(dir, CORE_SERVICE_NAME);
  return { dir, caPath: caCertPath(dir), server, service, serviceCommonName: serviceCommonName(CORE_SERVICE_NAME) };
}

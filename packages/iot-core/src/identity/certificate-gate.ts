import type { Logger } from 'pino';
import type { CertificateRegistry } from './certificate-registry.js';

/** A live broker connection that can be closed (an aedes client). */
export interface GatedConnection {
  close(): void;
}

/**
 * The broker's certificate check: a connection is admitted only with an ACTIVE certificate, and every
 * connection made with a certificate is closed the moment that certificate stops being ACTIVE (AWS
 * disconnects such devices "within a few minutes"; here it is at once).
 */
export interface CertificateGate<C extends GatedConnection = GatedConnection> {
  /** True when `certificateDer` is ACTIVE; the connection is then remembered until `forget`. */
  admit(connection: C, certificateDer: Buffer): boolean;
  forget(connection: C): void;
  close(): void;
}

export function createCertificateGate<C extends GatedConnection>(
  registry: CertificateRegistry,
  logger: Logger,
): CertificateGate<C> {
  const byCertificate = new Map<string, Set<C>>();
  const certificateOf = new Map<C, string>();
  const unsubscribe = registry.onChange((record) => {
    if (record.status === 'ACTIVE') return;
    const connections = byCertificate.get(record.certificateId);
    if (connections === undefined) return;
    logger.warn(
      { certificateId: record.certificateId, status: record.status, connections: connections.size },
      'broker: certificate no longer ACTIVE, disconnecting its connections',
    );
    for (const connection of connections) connection.close();
  });
  const forget = (connection: C): void => {
    const id = certificateOf.get(connection);
    if (id === undefined) return;
    certificateOf.delete(connection);
    const set = byCertificate.get(id);
    set?.delete(connection);
    if (set?.size === 0) byCertificate.delete(id);
  };
  return {
    admit(connection, der) {
      const { certificateId, status } = registry.admit(der);
      if (status !== 'ACTIVE') {
        logger.warn({ certificateId, status }, 'broker: refused a certificate that is not ACTIVE');
        return false;
      }
      forget(connection);
      certificateOf.set(connection, certificateId);
      let set = byCertificate.get(certificateId);
      if (set === undefined) byCertificate.set(certificateId, (set = new Set()));
      set.add(connection);
      return true;
    },
    forget,
    close() {
      unsubscribe();
      byCertificate.clear();
      certificateOf.clear();
    },
  };
}

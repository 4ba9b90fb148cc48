// tsyringe, used inside @peculiar/x509, needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Logger } from 'pino';
import type { CertificateAuthority } from './ca.js';
import { openCaDirectory } from './ca-store.js';
import type { CertificateRegistry } from './certificate-registry.js';
import type { CertificateRecord } from './certificate-store.js';

/** Where the local CA's certificate revocation list lives: `<caDir>/crl.pem` (Mosquitto's `crlfile`). */
export const crlPath = (caDir: string): string => join(caDir, 'crl.pem');

/**
 * A CRL listing every certificate that is not ACTIVE: REVOKED ones as keyCompromise, INACTIVE ones as
 * certificateHold (a hold can be lifted; the next CRL leaves it out). A TLS server that checks the CRL
 * (Mosquitto with `crlfile`) refuses those certificates in the handshake. No expiry before the CA's own: OpenSSL
 * refuses every client once a CRL's nextUpdate has passed.
 */
export async function renderCrl(ca: CertificateAuthority, records: readonly CertificateRecord[]): Promise<string> {
  const entries = records
    .filter((r) => r.status !== 'ACTIVE')
    .map((r) => ({
      serialNumber: new X509Certificate(r.certificatePem).serialNumber,
      revocationDate: new Date(r.lastModifiedDate),
      reason: r.status === 'REVOKED' ? x509.X509CrlReason.keyCompromise : x509.X509CrlReason.certificateHold,
    }));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.cert.subject,
      thisUpdate: new Date(Date.now() - 60_000), // a peer whose clock is slightly behind still accepts it
      nextUpdate: ca.cert.notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      signingKey: ca.signingKey,
      entries,
    },
    webcrypto,
  );
  // OpenSSL reads only the `X509 CRL` label.
  return crl.toString('pem').replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '-----$1 X509 CRL-----');
}

/** Writes `<caDir>/crl.pem` atomically, listing the certificates of `records` that are not ACTIVE. */
export async function writeCrl(caDir: string, records: readonly CertificateRecord[]): Promise<string> {
  const ca = await openCaDirectory(caDir);
  const path = crlPath(caDir);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, await renderCrl(ca, records), { mode: 0o644, flag: 'wx' });
  await rename(tmp, path);
  return path;
}

/**
 * Keeps `<caDir>/crl.pem` current: written at start and after every status change, one write at a time.
 * Mosquitto reads it again on SIGHUP (and at start).
 */
export function publishCrl(
  caDir: string,
  registry: CertificateRegistry,
  logger: Logger,
): { settled(): Promise<void>; close(): void } {
  let running: Promise<void> = Promise.resolve();
  let queued = false;
  const write = (): Promise<void> => {
    if (queued) return running;
    queued = true;
    running = running
      .then(async () => {
        queued = false;
        await writeCrl(caDir, registry.notActive());
      })
      .catch((e: unknown) => {
        logger.error(
          { err: e instanceof Error ? e.message : String(e) },
          'could not write the certificate revocation list',
        );
      });
    return running;
  };
  void write();
  const unsubscribe = registry.onChange(() => void write());
  return { settled: () => running, close: unsubscribe };
}

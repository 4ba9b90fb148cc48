import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { isValidServiceName, isValidThingName, principalFromSubject, type Principal } from '../identity/principal.js';

/**
 * Who is behind one broker connection: the principal its policy is judged by, and the identifier AWS reports
 * for it in lifecycle events (`principalIdentifier`: the certificate id for mutual TLS).
 */
export interface ConnectionIdentity {
  readonly principal: Principal;
  readonly principalIdentifier: string;
}

/** What an in-memory connection carries, as mutual TLS would: the principal, and optionally its certificate id. */
export interface StreamIdentity {
  readonly principal: Principal;
  /** Default: the thing or service name. */
  readonly certificateId?: string;
}

export class InvalidStreamIdentityError extends Error {
  override readonly name = 'InvalidStreamIdentityError';
  readonly code = 'InvalidStreamIdentity';
}

const CERTIFICATE_ID = /^[0-9a-f]{64}$/;

/**
 * The identity of a mutual-TLS peer whose chain node:tls has verified, or undefined when its certificate names
 * no thing or service. The certificate id is what AWS IoT uses: the SHA-256 of the certificate's DER, in hex.
 */
export function identityOfTlsPeer(socket: TLSSocket): ConnectionIdentity | undefined {
  const certificate = socket.getPeerCertificate();
  const principal = principalFromSubject(certificate.subject);
  if (principal === undefined) return undefined;
  return { principal, principalIdentifier: certificate.fingerprint256.replaceAll(':', '').toLowerCase() };
}

/** Checks an in-memory connection's identity as a CA would check a certificate's subject; throws when it is bad. */
export function identityOfStream(identity: StreamIdentity): ConnectionIdentity {
  const p = identity.principal as Partial<Record<string, unknown>> | undefined;
  const name =
    p?.['kind'] === 'thing' && typeof p['thingName'] === 'string' && isValidThingName(p['thingName'])
      ? p['thingName']
      : p?.['kind'] === 'service' && typeof p['serviceName'] === 'string' && isValidServiceName(p['serviceName'])
        ? p['serviceName']
        : undefined;
  if (name === undefined)
    throw new InvalidStreamIdentityError(
      'An in-memory connection needs a principal { kind: "thing", thingName } or { kind: "service", serviceName } with a valid name.',
    );
  const { certificateId } = identity;
  if (certificateId !== undefined && !CERTIFICATE_ID.test(certificateId))
    throw new InvalidStreamIdentityError('certificateId must be 64 lowercase hex digits (a SHA-256 certificate id).');
  return { principal: identity.principal, principalIdentifier: certificateId ?? name };
}

/** Identities handed over with in-memory streams, read when the stream's CONNECT is authenticated. */
export type StreamIdentities = WeakMap<Duplex, ConnectionIdentity>;

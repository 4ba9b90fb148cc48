import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AedesOptions, AuthenticateError, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { isSharedSubscription, parseSharedSubscription } from '@otafleet/protocol';
import type { CertificateGate } from '../identity/certificate-gate.js';
import { identityOfTlsPeer, type ConnectionIdentity, type StreamIdentities } from './connection-identity.js';
import { canPublish, canSubscribe, isReservedForBroker } from './topic-authorization.js';

/** CONNACK return codes (MQTT 3.1.1 table 3.1). aedes declares them as a const enum, unusable here. */
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

const refuse = (returnCode: number, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode });

/** Who each connection is; plain-TCP connections in insecure mode have no entry and are unrestricted. */
export type IdentityRegistry = WeakMap<Client, ConnectionIdentity>;

/** What the presence tracker needs to know to name a disconnect reason. */
export interface BrokerAuthEvents {
  /** A connection passed authentication (a session with the same client id, if any, is about to be taken over). */
  authenticated(client: Client): void;
  /** A publish was refused: the connection is closed for it (AUTH_ERROR). */
  publishRefused(client: Client): void;
}

export interface BrokerAuthOptions {
  readonly requireClientIdIsThingName: boolean;
  readonly logger: Logger;
  /** Admits only ACTIVE certificates (UpdateCertificate / `ca revoke`); absent: every CA-verified certificate. */
  readonly certificateGate?: CertificateGate<Client>;
  /** In-memory connections and the identity each was handed over with (`EmbeddedBroker.connectStream`). */
  readonly streamIdentities: StreamIdentities;
  readonly events?: BrokerAuthEvents;
}

/**
 * aedes hooks enforcing identity and per-thing authorization on TLS and in-memory connections. The TLS listener
 * has already verified the chain (rejectUnauthorized) and the certificate subject becomes the principal; an
 * in-memory stream carries its principal from `connectStream`. Both then go through the same rules.
 * A refused publish closes the connection, as AWS IoT does (disconnect reason AUTH_ERROR,
 * https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html); a refused
 * subscription gets SUBACK return code 0x80 and the connection stays up.
 */
export function brokerAuthHooks(
  identities: IdentityRegistry,
  options: BrokerAuthOptions,
): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> {
  const { logger, events } = options;
  return {
    authenticate(client, _username, _password, done) {
      const conn = client.conn as Duplex;
      let identity = options.streamIdentities.get(conn);
      if (identity === undefined) {
        if (!(conn instanceof TLSSocket)) {
          events?.authenticated(client);
          done(null, true); // plain-TCP listener: only exists in the loudly-announced insecure mode
          return;
        }
        if (!conn.authorized) {
          logger.warn(
            { clientId: client.id, reason: conn.authorizationError },
            'broker: unverified client certificate',
          );
          done(refuse(NOT_AUTHORIZED, 'client certificate not verified'), false);
          return;
        }
        identity = identityOfTlsPeer(conn);
      }
      if (identity === undefined) {
        logger.warn({ clientId: client.id }, 'broker: certificate names no thing or service');
        done(refuse(NOT_AUTHORIZED, 'certificate names no thing or service'), false);
        return;
      }
      const { principal } = identity;
      // AWS's usual thing policy allows iot:Connect only for client id == thing name.
      // See https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html
      if (principal.kind === 'thing' && options.requireClientIdIsThingName && client.id !== principal.thingName) {
        logger.warn({ clientId: client.id, thingName: principal.thingName }, 'broker: client id is not the thing name');
        done(refuse(IDENTIFIER_REJECTED, 'client id must equal the thing name'), false);
        return;
      }
      // Mutual TLS: the certificate itself must still be ACTIVE. An in-memory stream carries no certificate; whoever
      // hands it over (the simulator) vouches for its identity.
      if (
        options.certificateGate !== undefined &&
        conn instanceof TLSSocket &&
        !options.certificateGate.admit(client, conn.getPeerCertificate().raw)
      ) {
        done(refuse(NOT_AUTHORIZED, 'certificate is not ACTIVE'), false);
        return;
      }
      identities.set(client, identity);
      events?.authenticated(client);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      if (isReservedForBroker(packet.topic)) {
        if (client !== null) events?.publishRefused(client);
        done(new Error(`${packet.topic} is reserved for the broker`));
        return;
      }
      const principal = client === null ? undefined : identities.get(client)?.principal;
      if (client === null || principal === undefined || canPublish(principal, packet.topic)) {
        done(null);
        return;
      }
      logger.warn({ clientId: client.id, topic: packet.topic }, 'broker: publish not authorized, disconnecting');
      events?.publishRefused(client);
      done(new Error(`not authorized to publish to ${packet.topic}`));
    },

    authorizeSubscribe(client, subscription: Subscription, done) {
      const principal = identities.get(client)?.principal;
      const malformedShare = isSharedSubscription(subscription.topic) && !parseSharedSubscription(subscription.topic);
      if (!malformedShare && (principal === undefined || canSubscribe(principal, subscription.topic))) {
        done(null, subscription);
        return;
      }
      logger.warn({ clientId: client.id, filter: subscription.topic }, 'broker: subscription not authorized');
      done(null, null);
    },
  };
}

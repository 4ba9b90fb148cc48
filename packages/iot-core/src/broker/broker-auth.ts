import { TLSSocket } from 'node:tls';
import type { AedesOptions, AuthenticateError, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { CertificateGate } from '../identity/certificate-gate.js';
import { principalFromSubject, type Principal } from '../identity/principal.js';
import { canPublish, canSubscribe } from './topic-authorization.js';

/** CONNACK return codes (MQTT 3.1.1 table 3.1). aedes declares them as a const enum, unusable here. */
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

const refuse = (returnCode: number, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode });

/** Who each connection is; plain-TCP connections in insecure mode have no entry and are unrestricted. */
export type PrincipalRegistry = WeakMap<Client, Principal>;

export interface BrokerAuthOptions {
  readonly requireClientIdIsThingName: boolean;
  readonly logger: Logger;
  /** Admits only ACTIVE certificates (UpdateCertificate / `ca revoke`); absent: every CA-verified certificate. */
  readonly certificateGate?: CertificateGate<Client>;
}

/**
 * aedes hooks enforcing identity and per-thing authorization on TLS connections. The TLS listener has
 * already verified the chain (rejectUnauthorized); here the certificate subject becomes the principal.
 * A refused publish closes the connection, as AWS IoT does (disconnect reason AUTH_ERROR,
 * https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html); a refused
 * subscription gets SUBACK return code 0x80 and the connection stays up.
 */
export function brokerAuthHooks(
  principals: PrincipalRegistry,
  options: BrokerAuthOptions,
): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> {
  const { logger } = options;
  return {
    authenticate(client, _username, _password, done) {
      const conn = client.conn;
      if (!(conn instanceof TLSSocket)) {
        done(null, true); // plain-TCP listener: only exists in the loudly-announced insecure mode
        return;
      }
      if (!conn.authorized) {
        logger.warn({ clientId: client.id, reason: conn.authorizationError }, 'broker: unverified client certificate');
        done(refuse(NOT_AUTHORIZED, 'client certificate not verified'), false);
        return;
      }
      const principal = principalFromSubject(conn.getPeerCertificate().subject);
      if (principal === undefined) {
        logger.warn({ clientId: client.id }, 'broker: certificate names no thing or service');
        done(refuse(NOT_AUTHORIZED, 'certificate names no thing or service'), false);
        return;
      }
      // AWS's usual thing policy allows iot:Connect only for client id == thing name.
      // See https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html
      if (principal.kind === 'thing' && options.requireClientIdIsThingName && client.id !== principal.thingName) {
        logger.warn({ clientId: client.id, thingName: principal.thingName }, 'broker: client id is not the thing name');
        done(refuse(IDENTIFIER_REJECTED, 'client id must equal the thing name'), false);
        return;
      }
      if (
        options.certificateGate !== undefined &&
        !options.certificateGate.admit(client, conn.getPeerCertificate().raw)
      ) {
        done(refuse(NOT_AUTHORIZED, 'certificate is not ACTIVE'), false);
        return;
      }
      principals.set(client, principal);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('$SYS/')) {
        done(new Error('$SYS topics are reserved for the broker'));
        return;
      }
      const principal = client === null ? undefined : principals.get(client);
      if (client === null || principal === undefined || canPublish(principal, packet.topic)) {
        done(null);
        return;
      }
      logger.warn({ clientId: client.id, topic: packet.topic }, 'broker: publish not authorized, disconnecting');
      done(new Error(`not authorized to publish to ${packet.topic}`));
    },

    authorizeSubscribe(client, subscription: Subscription, done) {
      const principal = principals.get(client);
      if (principal === undefined || canSubscribe(principal, subscription.topic)) {
        done(null, subscription);
        return;
      }
      logger.warn({ clientId: client.id, filter: subscription.topic }, 'broker: subscription not authorized');
      done(null, null);
    },
  };
}

import { Aedes, type Client } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { CertificateGate } from '../identity/certificate-gate.js';
import type { Principal } from '../identity/principal.js';
import { SubscriptionIndex } from '../bus/subscription-index.js';
import { TopicEmitter } from '../bus/topic-emitter.js';
import { brokerAuthHooks, type IdentityRegistry } from './broker-auth.js';
import { identityOfStream, type StreamIdentities, type StreamIdentity } from './connection-identity.js';
import { PresenceTracker, type Connectivity } from './presence.js';
import { skipRetainedLookupWhileNoneKept } from './retained-lookup.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

export interface EmbeddedBrokerTlsOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** PEM of the CA that issues device and service certificates; clients must present one of its certificates. */
  readonly ca: string | Buffer;
  /** PEM server certificate and key (see `issueServerCertificate`). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface EmbeddedBrokerOptions {
  /** Bind address of every listener. Default 127.0.0.1. */
  readonly host?: string;
  /** Port of the plain-TCP listener; 0 (default) picks a free port. */
  readonly port?: number;
  /** Mutual-TLS listener with per-thing authorization (identity = certificate CN). */
  readonly tls?: EmbeddedBrokerTlsOptions;
  /**
   * Plain-TCP listener with no authentication and no authorization, for local development only.
   * Default: on when `tls` is absent, off when it is given.
   */
  readonly insecureTcp?: boolean;
  /** Default true: a device must connect with its thing name as MQTT client id (AWS's usual policy). */
  readonly requireClientIdIsThingName?: boolean;
  /** Default: a pino logger at `info`. */
  readonly logger?: Logger;
  /** Refuses certificates that are not ACTIVE and disconnects their connections when they stop being so. */
  readonly certificateGate?: CertificateGate<Client>;
}

export interface EmbeddedBroker {
  readonly aedes: Aedes;
  readonly host: string;
  /** The plain-TCP port when that listener is on, else the TLS port. */
  readonly port: number;
  readonly tcpPort: number | undefined;
  readonly tlsPort: number | undefined;
  /** The authenticated principal behind a connected client id (undefined: unknown client or insecure TCP). */
  principalOf(clientId: string): Principal | undefined;
  /**
   * Serves MQTT on an in-memory duplex stream (the server end of `createStreamPair`) as if it were a mutual-TLS
   * connection whose certificate names `identity.principal`: the same client-id rule, the same per-thing
   * authorization. Throws InvalidStreamIdentityError (code `InvalidStreamIdentity`) for a malformed identity.
   */
  connectStream(stream: Duplex, identity: StreamIdentity): void;
  /** Whether a client id is connected and since when, or how and when it left; undefined if never seen. */
  connectivityOf(clientId: string): Connectivity | undefined;
  /** Who holds which filter: pass it to `createAedesBus`. */
  readonly subscriptions: SubscriptionIndex;
  readonly sharedSubscriptions: SharedSubscriptions;
  close(): Promise<void>;
}

export type BrokerOptionsErrorCode = 'NoListener' | 'InvalidTlsOptions';

export class BrokerOptionsError extends Error {
  override readonly name = 'BrokerOptionsError';
  constructor(
    readonly code: BrokerOptionsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// aedes keeps connected clients at runtime but leaves them out of its type declarations.
type AedesInternals = Aedes & { readonly clients: Record<string, Client | undefined> };

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

const isPem = (v: string | Buffer | undefined): boolean =>
  v !== undefined && (typeof v === 'string' ? v : v.toString('latin1')).includes('-----BEGIN ');

/**
 * The embedded aedes broker (MQTT 3.1.1). With no options: plain TCP without authentication on
 * 127.0.0.1 and a free port, announced by a WARN log. With `tls`: mutual TLS, a thing's identity is its
 * certificate CN and it reaches only its own topics (see topic-authorization.ts).
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? pino({ name: 'embedded-broker' });
  const insecureTcp = options.insecureTcp ?? options.tls === undefined;
  if (!insecureTcp && options.tls === undefined)
    throw new BrokerOptionsError('NoListener', 'No listener: give `tls` options, or set `insecureTcp: true`.');
  if (options.tls !== undefined && !(isPem(options.tls.ca) && isPem(options.tls.cert) && isPem(options.tls.key)))
    throw new BrokerOptionsError('InvalidTlsOptions', '`tls.ca`, `tls.cert` and `tls.key` must each be PEM text.');

  const identities: IdentityRegistry = new WeakMap();
  const streamIdentities: StreamIdentities = new WeakMap();
  const presence = new PresenceTracker({
    logger,
    identities,
    hasSubscribers: (topic) => subscriptions.hasSubscribers(topic),
  });
  const aedes = await Aedes.createBroker({
    // The router (bus/topic-emitter.ts) delivers at once, with no queue. concurrency 0 says the same to aedes: with
    // its default (100) mqemitter queued the rest, and each that completed synchronously started the next from
    // inside its own completion, so the stack grew with the queue until thousands of in-memory devices overflowed
    // it. Inbound flow is bounded per client (maxInflightInbound) anyway.
    concurrency: 0,
    mq: new TopicEmitter(),
    ...brokerAuthHooks(identities, {
      requireClientIdIsThingName: options.requireClientIdIsThingName ?? true,
      logger,
      streamIdentities,
      events: presence,
      ...(options.certificateGate === undefined ? {} : { certificateGate: options.certificateGate }),
    }),
  });
  const gate = options.certificateGate;
  if (gate !== undefined) aedes.on('clientDisconnect', (client) => gate.forget(client));
  presence.attach(aedes);
  skipRetainedLookupWhileNoneKept(aedes);
  // Before any connection, so they know every subscription.
  const subscriptions = new SubscriptionIndex(aedes);
  const sharedSubscriptions = new SharedSubscriptions(aedes, { logger });
  const servers: Server[] = [];
  let tcpPort: number | undefined;
  let tlsPort: number | undefined;
  // noDelay: MQTT is request/response traffic of small packets; with Nagle on, loopback round trips cap at
  // about 900/s (measured in bench/shadow-throughput.ts).
  try {
    if (options.tls !== undefined) {
      const { ca, cert, key } = options.tls;
      const tlsServer = createTlsServer(
        { ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', noDelay: true },
        (socket) => aedes.handle(socket),
      );
      tlsServer.on('tlsClientError', (e: Error) => logger.info({ err: e.message }, 'broker: TLS handshake refused'));
      servers.push(tlsServer);
      tlsPort = await listen(tlsServer, options.tls.port ?? 0, host);
      logger.info({ host, port: tlsPort }, 'broker: mutual-TLS listener with per-thing authorization');
    }
    if (insecureTcp) {
      const tcpServer = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
      servers.push(tcpServer);
      tcpPort = await listen(tcpServer, options.port ?? 0, host);
      logger.warn(
        { host, port: tcpPort },
        'broker: INSECURE plain-TCP listener: NO authentication, NO authorization, any client reaches every topic. Local development only.',
      );
    }
  } catch (e) {
    for (const server of servers) server.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw e;
  }

  return {
    aedes,
    host,
    port: tcpPort ?? tlsPort ?? 0,
    tcpPort,
    tlsPort,
    subscriptions,
    sharedSubscriptions,
    principalOf(clientId: string): Principal | undefined {
      const client = (aedes as AedesInternals).clients[clientId];
      return client === undefined ? undefined : identities.get(client)?.principal;
    },
    connectStream(stream: Duplex, identity: StreamIdentity): void {
      streamIdentities.set(stream, identityOfStream(identity));
      aedes.handle(stream);
    },
    connectivityOf: (clientId: string): Connectivity | undefined => presence.connectivityOf(clientId),
    async close() {
      const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(stopped);
    },
  };
}

import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import type { Aedes, Client } from 'aedes';
import type { Logger } from 'pino';
import {
  presenceConnectedTopic,
  presenceDisconnectedTopic,
  type DisconnectReason,
  type PresenceEvent,
} from '@otafleet/protocol';
import type { BrokerAuthEvents, IdentityRegistry } from './broker-auth.js';

/**
 * AWS IoT lifecycle events from the embedded broker: `$aws/events/presence/connected/<clientId>` once a client's
 * CONNACK is out, `.../disconnected/<clientId>` when its session ends, with AWS's payloads (only services may
 * subscribe to `$aws/events/...`, see topic-authorization.ts). It also remembers each client id's connectivity
 * (connected, since when, why it left) for the registry's `connectivity.*` fields.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html
 */

/** As AWS's ThingConnectivity: `timestamp` is when the client last connected or disconnected (epoch ms). */
export interface Connectivity {
  readonly connected: boolean;
  readonly timestamp: number;
  readonly disconnectReason?: DisconnectReason;
}

interface Session {
  readonly sessionIdentifier: string;
  readonly versionNumber: number;
}

// aedes has these at runtime but leaves them out of its type declarations.
type ClientInternals = Client & { readonly _disconnected?: boolean };
type AedesInternals = Aedes & { readonly clients: Record<string, Client | undefined>; readonly closed: boolean };

export interface PresenceOptions {
  readonly logger: Logger;
  readonly identities: IdentityRegistry;
  /** Disconnected client ids remembered at most (default 100,000); the longest-gone are forgotten first. */
  readonly maxRemembered?: number;
  readonly now?: () => number;
  /** Whether anyone may receive a topic: events nobody would receive are not built. Default: always. */
  readonly hasSubscribers?: (topic: string) => boolean;
}

/** AWS sends no lifecycle events for client ids that could not be a topic level. */
const hasEventTopic = (clientId: string): boolean =>
  clientId.length > 0 && !clientId.includes('#') && !clientId.includes('+') && !clientId.includes('/');

export class PresenceTracker implements BrokerAuthEvents {
  private readonly sessions = new WeakMap<Client, Session>();
  private readonly reasons = new WeakMap<Client, DisconnectReason>();
  private readonly lastVersion = new Map<string, number>();
  private readonly state = new Map<string, Connectivity>();
  /** Disconnected client ids, longest gone first: the ones forgotten when `state` grows too large. */
  private readonly gone = new Set<string>();
  private readonly now: () => number;
  private readonly maxRemembered: number;
  private aedes: Aedes | undefined;

  /** Made before the broker (its authentication hooks report to it), then attached to it. */
  constructor(private readonly options: PresenceOptions) {
    this.now = options.now ?? Date.now;
    this.maxRemembered = options.maxRemembered ?? 100_000;
  }

  attach(aedes: Aedes): void {
    this.aedes = aedes;
    // At CONNACK rather than 'clientReady': aedes emits that only after replaying a session's queue, which may be
    // after a quick client has already disconnected.
    aedes.on('connackSent', (connack: { returnCode?: number }, client: Client) => {
      if ((connack.returnCode ?? 0) === 0) this.connected(client);
    });
    aedes.on('clientDisconnect', (client: Client) => this.disconnected(client));
    aedes.on('keepaliveTimeout', (client: Client) => this.mark(client, 'MQTT_KEEP_ALIVE_TIMEOUT'));
    aedes.on('clientError', (client: Client, error: Error & { code?: unknown }) =>
      // Errors of the socket itself (ECONNRESET, EPIPE...) carry a code; protocol violations do not.
      this.mark(client, typeof error.code === 'string' ? 'CONNECTION_LOST' : 'CLIENT_ERROR'),
    );
  }

  connectivityOf(clientId: string): Connectivity | undefined {
    return this.state.get(clientId);
  }

  authenticated(client: Client): void {
    const previous = (this.aedes as AedesInternals | undefined)?.clients[client.id];
    if (previous !== undefined && previous !== client) this.mark(previous, 'DUPLICATE_CLIENTID');
  }

  publishRefused(client: Client): void {
    this.mark(client, 'AUTH_ERROR');
  }

  /** The first reason named for a connection wins: it is the cause, what follows are its effects. */
  private mark(client: Client, reason: DisconnectReason): void {
    if (!this.reasons.has(client)) this.reasons.set(client, reason);
  }

  private connected(client: Client): void {
    const timestamp = this.now();
    const versionNumber = Math.max(timestamp, (this.lastVersion.get(client.id) ?? 0) + 1);
    this.lastVersion.set(client.id, versionNumber);
    const session: Session = { sessionIdentifier: randomUUID(), versionNumber };
    this.sessions.set(client, session);
    this.remember(client.id, { connected: true, timestamp });
    this.publish(client, presenceConnectedTopic(client.id), () => ({
      ...this.common(client, session, timestamp),
      eventType: 'connected',
    }));
  }

  private disconnected(client: Client): void {
    const session = this.sessions.get(client);
    if (session === undefined) return; // never got its CONNACK: no connected event, no disconnected one
    this.sessions.delete(client);
    const timestamp = this.now();
    const reason =
      this.reasons.get(client) ??
      ((client as ClientInternals)._disconnected === true
        ? 'CLIENT_INITIATED_DISCONNECT'
        : (this.aedes as AedesInternals | undefined)?.closed === true
          ? 'SERVER_INITIATED_DISCONNECT'
          : 'CONNECTION_LOST');
    // A session taken over by a new connection must not mark the client id disconnected.
    const current = (this.aedes as AedesInternals | undefined)?.clients[client.id];
    if (current === undefined || current === client || reason !== 'DUPLICATE_CLIENTID')
      this.remember(client.id, { connected: false, timestamp, disconnectReason: reason });
    this.publish(client, presenceDisconnectedTopic(client.id), () => ({
      ...this.common(client, session, timestamp),
      eventType: 'disconnected',
      clientInitiatedDisconnect: reason === 'CLIENT_INITIATED_DISCONNECT',
      disconnectReason: reason,
    }));
  }

  private common(client: Client, session: Session, timestamp: number) {
    const conn: unknown = client.conn;
    const ipAddress = conn instanceof Socket ? conn.remoteAddress : undefined;
    return {
      clientId: client.id,
      timestamp,
      sessionIdentifier: session.sessionIdentifier,
      principalIdentifier: this.options.identities.get(client)?.principalIdentifier ?? 'anonymous',
      versionNumber: session.versionNumber,
      ...(ipAddress === undefined ? {} : { ipAddress }),
    };
  }

  private remember(clientId: string, connectivity: Connectivity): void {
    this.state.set(clientId, connectivity);
    this.gone.delete(clientId);
    if (!connectivity.connected) this.gone.add(clientId); // re-added last: the Set's order is longest gone first
    for (const id of this.gone) {
      if (this.state.size <= this.maxRemembered) break;
      this.gone.delete(id);
      this.state.delete(id);
      this.lastVersion.delete(id);
    }
  }

  private publish(client: Client, topic: string, event: () => PresenceEvent): void {
    if (!hasEventTopic(client.id) || this.options.hasSubscribers?.(topic) === false) return;
    this.aedes?.publish(
      { cmd: 'publish', topic, payload: JSON.stringify(event()), qos: 1, retain: false, dup: false },
      (e?: Error) => {
        if (e) this.options.logger.debug({ err: e, topic }, 'presence event not published');
      },
    );
  }
}

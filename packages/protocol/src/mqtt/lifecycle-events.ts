import { Type, type Static } from '@sinclair/typebox';

/**
 * AWS IoT lifecycle (presence) events: the broker publishes one message when a client connects and one when it
 * disconnects. Everything under `$aws/events/` is published by the broker and services alone, and only
 * privileged principals may subscribe to it.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html
 */
export const AWS_EVENTS_PREFIX = '$aws/events/';
const PRESENCE_PREFIX = `${AWS_EVENTS_PREFIX}presence/`;

export const presenceConnectedTopic = (clientId: string): string => `${PRESENCE_PREFIX}connected/${clientId}`;
export const presenceDisconnectedTopic = (clientId: string): string => `${PRESENCE_PREFIX}disconnected/${clientId}`;
/** Every presence event of every client. */
export const PRESENCE_EVENTS_FILTER = `${PRESENCE_PREFIX}#`;

/** Whether `topicOrFilter` lies in the broker's reserved event space `$aws/events/...`. */
export const isAwsEventsTopic = (topicOrFilter: string): boolean =>
  topicOrFilter.startsWith(AWS_EVENTS_PREFIX) || topicOrFilter === AWS_EVENTS_PREFIX.slice(0, -1);

/** The disconnect reasons AWS documents (lifecycle events page; `DisconnectReasonValue` of the IoT API). */
export const DISCONNECT_REASONS = [
  'AUTH_ERROR',
  'CLIENT_INITIATED_DISCONNECT',
  'CLIENT_ERROR',
  'CONNECTION_LOST',
  'DUPLICATE_CLIENTID',
  'FORBIDDEN_ACCESS',
  'MQTT_KEEP_ALIVE_TIMEOUT',
  'SERVER_ERROR',
  'SERVER_INITIATED_DISCONNECT',
  'THROTTLED',
  'WEBSOCKET_TTL_EXPIRATION',
  'CUSTOMAUTH_TTL_EXPIRATION',
  'API_INITIATED_DISCONNECT',
  'UNKNOWN',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

const common = {
  clientId: Type.String(),
  /** Milliseconds since the Unix epoch. */
  timestamp: Type.Integer(),
  /** Unique for the life of the session (one connection). */
  sessionIdentifier: Type.String(),
  /** The certificate id (SHA-256 of the certificate's DER, hex) for mutual-TLS clients. */
  principalIdentifier: Type.String(),
  /** Monotonically increasing per client id; a connection's connect and disconnect events share it. */
  versionNumber: Type.Integer(),
  ipAddress: Type.Optional(Type.String()),
};

export const PresenceConnectedEventSchema = Type.Object({
  ...common,
  eventType: Type.Literal('connected'),
});
export type PresenceConnectedEvent = Static<typeof PresenceConnectedEventSchema>;

export const PresenceDisconnectedEventSchema = Type.Object({
  ...common,
  eventType: Type.Literal('disconnected'),
  clientInitiatedDisconnect: Type.Boolean(),
  disconnectReason: Type.Union(DISCONNECT_REASONS.map((r) => Type.Literal(r))),
});
export type PresenceDisconnectedEvent = Static<typeof PresenceDisconnectedEventSchema>;

export type PresenceEvent = PresenceConnectedEvent | PresenceDisconnectedEvent;

import { Type, type Static } from '@sinclair/typebox';
import { HardwareTypeSchema, ThingNameSchema } from '@otafleet/protocol';

/**
 * The agent's configuration file (JSON). Strict: an unknown key is an error, so a misspelt option never passes
 * silently. Relative paths are relative to the file's directory.
 */
const strict = { additionalProperties: false } as const;
const Path = Type.String({ minLength: 1, maxLength: 4096 });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
/**
 * MQTT keepalive: a PINGREQ after this long without sending, and the broker drops a client silent for 1.5 times
 * it. AWS IoT Core takes 30 to 1200 (it treats less as 30). Longer saves a cellular device's data and tolerates a
 * busy host; shorter notices a dead link sooner. Default 30.
 */
const KeepaliveSeconds = Type.Integer({ minimum: 30, maximum: 1200 });

export const MqttBrokerConfigSchema = Type.Object(
  {
    kind: Type.Literal('mqtt'),
    /** mqtt://, mqtts://, ws:// or wss:// (local core, Mosquitto). */
    url: Type.String({ pattern: '^(mqtts?|wss?)://' }),
    caFile: Type.Optional(Path),
    certFile: Type.Optional(Path),
    keyFile: Type.Optional(Path),
    keepaliveSeconds: Type.Optional(KeepaliveSeconds),
  },
  strict,
);

export const AwsIotBrokerConfigSchema = Type.Object(
  {
    kind: Type.Literal('aws-iot'),
    endpoint: Type.String({ minLength: 1, maxLength: 253 }),
    /** 8883, or 443 with ALPN x-amzn-mqtt-ca. */
    port: Type.Optional(Type.Union([Type.Literal(8883), Type.Literal(443)])),
    caFile: Path,
    certFile: Path,
    keyFile: Path,
    keepaliveSeconds: Type.Optional(KeepaliveSeconds),
  },
  strict,
);

export const DirectorySlotsConfigSchema = Type.Object(
  {
    kind: Type.Literal('directory'),
    /** Holds slots/A, slots/B, the `current` link and slots.json (provisioned beforehand). */
    root: Path,
  },
  strict,
);

export const ApplicationConfigSchema = Type.Object(
  {
    /** argv; runs with the active slot as its working directory. */
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 64 }),
    env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String())),
    /** The port the application listens on (passed as PORT; the local probe's port). */
    port: Type.Optional(Port),
  },
  strict,
);

/** Where the remote configuration (the `ota-config` shadow) is written, and how the application is told. */
export const RemoteConfigConfigSchema = Type.Object(
  {
    /** Default: remote-config.json in dataDir. */
    path: Type.Optional(Path),
    /** sighup: the application reloads on SIGHUP; restart (default): the supervisor restarts it. */
    onChange: Type.Optional(Type.Union([Type.Literal('sighup'), Type.Literal('restart')])),
  },
  strict,
);

export const AgentConfigSchema = Type.Object(
  {
    thingName: ThingNameSchema,
    hardwareType: HardwareTypeSchema,
    dataDir: Path,
    broker: Type.Union([MqttBrokerConfigSchema, AwsIotBrokerConfigSchema]),
    slots: DirectorySlotsConfigSchema,
    /** The pinned bundle signing keys (trust.json). */
    trustStore: Path,
    application: ApplicationConfigSchema,
    healthReportIntervalSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
    /** The local health endpoint on 127.0.0.1; 0 or absent: off. */
    localEndpointPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    remoteConfig: Type.Optional(RemoteConfigConfigSchema),
    logLevel: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
  },
  strict,
);
export type AgentConfig = Static<typeof AgentConfigSchema>;

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CreateRolloutBodySchema, ROLLOUT_STATUSES, WAVE_STATUSES } from '@otafleet/fleet-service';
import { BundleManifestSchema } from '@otafleet/protocol';

/**
 * The scenario file: a fleet, the faults it suffers, the releases that exist, the one rollout to run (in the fleet
 * service's own create-rollout vocabulary) and the outcome expected. Every object is closed: an unknown key is an
 * error, so a typo never silently means "use the default".
 */
const strict = { additionalProperties: false } as const;
/** `message` is what a violation says (after the field's path); TypeBox's own words are the fallback. */
const withMessage = <T extends TSchema>(schema: T, message: string): T => ({ ...schema, errorMessage: message });

export const VersionSchema = withMessage(
  BundleManifestSchema.properties.version,
  'must be a semantic version such as 1.2.0',
);
export const HardwareTypeSchema = withMessage(
  BundleManifestSchema.properties.compatibleHardware.items,
  'must be a hardware type: letters, digits, . _ : - (at most 64)',
);
/** A thing-group name that is also the prefix of its devices' thing names (`<group>-0001`). */
const GroupNameSchema = withMessage(
  Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
  'must be 1-64 letters, digits, _ or -',
);
const Percent = withMessage(Type.Number({ minimum: 0, maximum: 100 }), 'must be between 0 and 100');
const Millis = withMessage(Type.Integer({ minimum: 0, maximum: 86_400_000 }), 'must be whole milliseconds, 0 to 1 day');
const PositiveMillis = withMessage(
  Type.Integer({ minimum: 1, maximum: 86_400_000 }),
  'must be whole milliseconds, 1 to 1 day',
);
const Count = withMessage(Type.Integer({ minimum: 0, maximum: 1_000_000 }), 'must be a whole number, 0 to 1,000,000');

/** Devices that start together: `count` things named `<prefix>-NNNN`, in thing group `group`. */
export const DeviceGroupSchema = Type.Object(
  {
    group: GroupNameSchema,
    /** Thing-name prefix; default the group name. */
    prefix: Type.Optional(GroupNameSchema),
    count: Count,
    hardwareType: HardwareTypeSchema,
    startVersion: VersionSchema,
  },
  strict,
);
export type DeviceGroup = Static<typeof DeviceGroupSchema>;

export const LateJoinersSchema = Type.Object(
  {
    ...DeviceGroupSchema.properties,
    /** Enrolled in the registry and started this long after the rollout was created. */
    afterMs: Millis,
  },
  strict,
);
export type LateJoiners = Static<typeof LateJoinersSchema>;

/** A bundle the scenario builds, signs and uploads; `unhealthyPercent`/`crashingPercent` make it a bad release. */
export const ReleaseSchema = Type.Object(
  {
    version: VersionSchema,
    /** Application name in the manifest; default 'app' (the virtual devices' start release is 'app' too). */
    name: Type.Optional(BundleManifestSchema.properties.name),
    securityVersion: Type.Optional(BundleManifestSchema.properties.securityVersion),
    hardware: Type.Array(HardwareTypeSchema, { minItems: 1, maxItems: 64, uniqueItems: true }),
    /** Share of the devices (seeded choice) whose post-update health checks fail on this release. */
    unhealthyPercent: Type.Optional(Percent),
    /** Share of the devices (seeded choice) on which this release's application crashes at start. */
    crashingPercent: Type.Optional(Percent),
  },
  strict,
);
export type Release = Static<typeof ReleaseSchema>;

const Window = Type.Object({ fromMs: Millis, toMs: Millis }, strict);
const Drop = Type.Object({ atMs: Millis, forMs: PositiveMillis }, strict);

/** The contract's DeviceFaults, field for field (src/fleet/contracts.ts). */
export const DeviceFaultsSchema = Type.Object(
  {
    unhealthyVersions: Type.Optional(Type.Array(VersionSchema, { minItems: 1 })),
    crashingVersions: Type.Optional(Type.Array(VersionSchema, { minItems: 1 })),
    crashAtStep: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    powerCutAtStep: Type.Optional(
      Type.Object({ step: Type.String({ minLength: 1, maxLength: 64 }), offMs: PositiveMillis }, strict),
    ),
    networkDrops: Type.Optional(Type.Array(Drop, { minItems: 1, maxItems: 100 })),
    flapping: Type.Optional(Type.Object({ upMs: PositiveMillis, downMs: PositiveMillis }, strict)),
    linkBytesPerSecond: Type.Optional(
      withMessage(Type.Integer({ minimum: 1024, maximum: 10 ** 10 }), 'must be whole bytes per second, at least 1024'),
    ),
    corruptDownload: Type.Optional(Type.Boolean()),
    clockSkewMs: Type.Optional(
      withMessage(
        Type.Integer({ minimum: -86_400_000, maximum: 86_400_000 }),
        'must be whole milliseconds within a day either way',
      ),
    ),
    offlineWindows: Type.Optional(Type.Array(Window, { minItems: 1, maxItems: 100 })),
  },
  strict,
);

/**
 * A fault entry: which devices (exactly one of `percent`, `count`, `devices`, optionally narrowed to `groups`), and
 * the faults they get. Percent and count picks are seeded: the same seed picks the same devices.
 */
export const FaultSchema = Type.Object(
  {
    percent: Type.Optional(Percent),
    count: Type.Optional(Count),
    devices: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1 })),
    groups: Type.Optional(Type.Array(GroupNameSchema, { minItems: 1 })),
    ...DeviceFaultsSchema.properties,
  },
  strict,
);
export type Fault = Static<typeof FaultSchema>;
export const FAULT_KINDS = Object.keys(DeviceFaultsSchema.properties) as (keyof typeof DeviceFaultsSchema.properties)[];

const body = CreateRolloutBodySchema.properties;
/**
 * The fleet service's create-rollout body (POST /v1/rollouts), with `release` (a version of `releases`) in place of
 * `bundleId`, a default target (the whole fleet) and defaults for name, soak and wave timeout.
 */
export const RolloutSchema = Type.Object(
  {
    release: VersionSchema,
    id: Type.Optional(body.id),
    name: Type.Optional(body.name),
    target: Type.Optional(body.target),
    waves: body.waves,
    seed: Type.Optional(body.seed),
    gate: Type.Optional(body.gate),
    onBreach: body.onBreach,
    soakSeconds: Type.Optional(body.soakSeconds),
    waveTimeoutSeconds: Type.Optional(body.waveTimeoutSeconds),
    maxPerMinute: Type.Optional(body.maxPerMinute),
  },
  strict,
);
export type ScenarioRollout = Static<typeof RolloutSchema>;

/** How many devices end on a version: a number, `all` of them, or `rest` (all not counted by the other entries). */
const DeviceTally = Type.Union([Count, Type.Literal('all'), Type.Literal('rest')], {
  errorMessage: 'must be a device count, "all" or "rest"',
});
const literals = (values: readonly string[], what: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { errorMessage: `must be ${what}: ${values.join(', ')}` },
  );

export const ExpectSchema = Type.Object(
  {
    /** The rollout's final status. */
    rollout: literals(ROLLOUT_STATUSES, 'a rollout status'),
    /** Each wave's final status, in order. */
    waves: Type.Optional(Type.Array(literals(WAVE_STATUSES, 'a wave status'), { minItems: 1 })),
    /** Devices per final running version. */
    versions: Type.Optional(Type.Record(Type.String(), DeviceTally)),
    /** Every device ends on one of these (good) versions: where a faulty device may keep its start release. */
    versionsAmong: Type.Optional(Type.Array(VersionSchema, { minItems: 1 })),
    /** The final running version of every device of a group (group → version): holds at any --devices size. */
    groupVersions: Type.Optional(Type.Record(Type.String(), VersionSchema)),
    /** Device-side rollbacks (automatic or by rollback job), summed over the fleet. */
    rollbacks: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(Count),
          max: Type.Optional(Count),
          /** Every device of every deployed wave ended where it started, after a rollback. */
          everyDeployedDevice: Type.Optional(Type.Boolean()),
        },
        strict,
      ),
    ),
    /** Devices that must have received no job at all. */
    untouched: Type.Optional(
      Type.Object(
        {
          /** Every device outside the waves that were deployed. */
          outsideDeployedWaves: Type.Optional(Type.Boolean()),
          /** Every device of these groups. */
          groups: Type.Optional(Type.Array(GroupNameSchema, { minItems: 1 })),
        },
        strict,
      ),
    ),
    /** Every job execution of every device is in a final status in the core, and the device agrees with it. */
    allJobsFinal: Type.Optional(Type.Boolean()),
    /** The run fails (exit 1) when the rollout has not reached a final status by then; default 300. */
    deadlineSeconds: Type.Optional(
      withMessage(Type.Integer({ minimum: 1, maximum: 86_400 }), 'must be 1 to 86400 seconds'),
    ),
  },
  strict,
);
export type Expectation = Static<typeof ExpectSchema>;

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    seed: withMessage(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }), 'must be a whole number, 0 to 2147483647'),
    fleet: Type.Array(DeviceGroupSchema, { minItems: 1, maxItems: 100 }),
    releases: Type.Array(ReleaseSchema, { minItems: 1, maxItems: 20 }),
    faults: Type.Optional(Type.Array(FaultSchema, { maxItems: 100 })),
    lateJoiners: Type.Optional(Type.Array(LateJoinersSchema, { maxItems: 20 })),
    rollout: RolloutSchema,
    expect: ExpectSchema,
  },
  strict,
);
export type Scenario = Static<typeof ScenarioSchema>;

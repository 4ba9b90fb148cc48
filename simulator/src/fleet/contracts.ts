/**
 * The contract between the simulator's two halves: the virtual fleet (src/fleet, src/faults — "sim-runtime") and
 * the scenario runner (src/scenario, src/run, src/report, src/cli — "sim-scenario"). The runner builds
 * VirtualDeviceSpecs from a scenario, starts the fleet against the stack it started, drives the rollout through the
 * fleet service and reads DeviceObservations for its report. Extend, never break.
 *
 * Dependencies (simulator/package.json): sim-runtime owns the list; sim-scenario adds its own with
 * `pnpm add --filter @otafleet/simulator <name>` and notes it here.
 *   added by sim-runtime: better-sqlite3, mqtt (+ @types/better-sqlite3)
 *   added by sim-scenario: @aws-sdk/client-iot, @otafleet/bundle, @otafleet/fleet-service, @otafleet/runtime,
 *     @sinclair/typebox, pino, yaml
 */
import type { Duplex } from 'node:stream';
import type { OtaPhase } from '@otafleet/protocol';
import type { Logger } from 'pino';

/**
 * A step at which a device can crash or lose power: the agent's step hook names, `state:<UpdateStateName>` after
 * each journal write (e.g. `state:Downloading`, `state:Installing`, `state:HealthChecking`) and the slot
 * backend's steps (`install:record`, `arm:record`, `activate:reboot`, `commit:record`, `boot:record`, ...).
 */
export type DeviceStep = string;

/** Faults of one device; every random choice comes from the fleet seed, so a seed reproduces a run. */
export interface DeviceFaults {
  /** Releases (versions) whose post-update health checks fail on this device: it rolls back, HEALTH_CHECK_FAILED. */
  readonly unhealthyVersions?: readonly string[];
  /** Releases whose application crashes at start on this device: it rolls back with the agent's crash reason. */
  readonly crashingVersions?: readonly string[];
  /** The agent process dies at this step (once, without a graceful close) and a new one starts from the journal. */
  readonly crashAtStep?: DeviceStep;
  /** The whole device goes off at this step (once): agent and connection gone, back after offMs, boots again. */
  readonly powerCutAtStep?: { readonly step: DeviceStep; readonly offMs: number };
  /** The device's link goes down (stream destroyed; the agent reconnects with its backoff); ms from its start. */
  readonly networkDrops?: readonly { readonly atMs: number; readonly forMs: number }[];
  /** The link alternates up/down from the device's start until the fleet closes. */
  readonly flapping?: { readonly upMs: number; readonly downMs: number };
  /** Download rate cap (bytes/s) for bundles. */
  readonly linkBytesPerSecond?: number;
  /** The first download of each bundle is corrupted in transit (bytes flipped): the agent's verification catches it. */
  readonly corruptDownload?: boolean;
  /** Added to the device's clock (ms; negative: behind). */
  readonly clockSkewMs?: number;
  /** The device is off the network during these windows (ms from the fleet's start). */
  readonly offlineWindows?: readonly { readonly fromMs: number; readonly toMs: number }[];
}

/** The release a device runs at first boot (its slot A). */
export interface VirtualRelease {
  /** The application name in the bundle manifest; default 'app'. */
  readonly name?: string;
  readonly version: string;
  /** Default 0. */
  readonly securityVersion?: number;
}

export interface VirtualDeviceSpec {
  readonly thingName: string;
  readonly hardwareType: string;
  /** The release in its active slot at first boot (a device that exists already in the journal keeps its slots). */
  readonly startVersion: string;
  /** Name and security version of the start release, when not 'app' / 0. */
  readonly startRelease?: Omit<VirtualRelease, 'version'>;
  readonly faults: DeviceFaults;
  /** First connects this long after the fleet started (enrolled mid-rollout). */
  readonly joinAfterMs?: number;
}

/** How virtual devices reach the broker. */
export type BrokerAttachment =
  | {
      /**
       * Main-thread side, called once per connection attempt of a device: returns the server end's peer, i.e. the
       * runner does `const [client, server] = createStreamPair(); broker.connectStream(server, { principal: {
       * kind: 'thing', thingName } }); return client;`. Devices in workers reach it through a MessagePort-backed
       * Duplex piped to this stream on the main thread.
       */
      readonly kind: 'in-memory';
      connect(thingName: string): Duplex;
    }
  | {
      /** Realism mode: a real mutual-TLS socket per device (`mqtts://127.0.0.1:port`). */
      readonly kind: 'mqtt-url';
      readonly url: string;
      /** PEM of the CA that signed the broker's certificate; absent: Node's root CAs (AWS IoT Core's ATS endpoint). */
      readonly ca?: string;
      credentialsOf(thingName: string): { readonly cert: string; readonly key: string };
    };

export interface VirtualFleetOptions {
  readonly devices: readonly VirtualDeviceSpec[];
  /** Seeds every random choice (fault timing jitter, flapping phase). */
  readonly seed: number;
  /** Worker threads hosting the devices; 0 runs them on the main thread (tests, small fleets). */
  readonly workers: number;
  readonly broker: BrokerAttachment;
  /** The bundle trust set (protocol's BundleTrustSet) as JSON text: parsed once per thread, shared by its devices. */
  readonly trustSetJson: string;
  /** The shared journal database and download cache live here (created if missing). */
  readonly dataDir: string;
  /**
   * 'per-device': each device downloads and verifies its own copy over HTTP (the agent's own download code).
   * 'shared-by-hash': one download per bundle URL per thread, then each device verifies the shared file itself.
   * Default 'shared-by-hash'.
   */
  readonly downloadCache?: 'per-device' | 'shared-by-hash';
  /**
   * How a device checks a file of the shared cache. 'per-content-hash' (default): the signature and payload
   * digests once per file per thread (the same bytes give the same answer); each device still checks the signing
   * key at its own clock and the manifest against its own policy (hardware, versions, expiry), so every device
   * ends as it would have. A device's own copy (link faults, 'per-device' downloads) is always verified in full.
   * 'per-device': every device verifies the shared file in full too, before install and again at install, as a
   * real device would: two file reads, a signature check and a manifest decode per device (the 10,000-device
   * rollout bench: 135.8 against 112.2 CPU seconds in one pair of runs).
   */
  readonly bundleVerification?: 'per-device' | 'per-content-hash';
  /** Agent timing knobs passed to the agent (e.g. health report interval); defaults suit a simulation. */
  readonly healthReportIntervalSeconds?: number;
  readonly logger: Logger;
}

/** A phase as a device's agent reports it, or 'idle' when no update is in flight. */
export type DevicePhase = OtaPhase | 'idle';

export interface DeviceObservation {
  readonly thingName: string;
  readonly hardwareType: string;
  /** Version of the release in the booted slot. */
  readonly runningVersion: string;
  readonly phase: DevicePhase;
  /** MQTT connected now. False while off (power cut), not yet joined or during network faults. */
  readonly online: boolean;
  /** Rollbacks this device performed, in order, with the agent's reason codes. */
  readonly rollbacks: readonly { readonly jobId: string; readonly reasonCode: string }[];
  /** Job executions the device finished or holds, latest status per job as the device last reported it. */
  readonly jobs: readonly { readonly jobId: string; readonly status: string; readonly reasonCode?: string }[];
  /** MQTT PUBLISH packets received / sent by the device. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Health reports the device published. */
  readonly healthReports: number;
  /** Agent starts after the first (crashes, reboots, power cuts). */
  readonly agentRestarts: number;
  readonly reboots: number;
  readonly powerCuts: number;
}

/** How many devices are how far, counted without observing each (no journal or slot reads, no objects per device). */
export interface FleetTally {
  readonly devices: number;
  /** MQTT connected now. */
  readonly online: number;
  /** Connected now or once already (a device that received a message: a flapping link need not be up now). */
  readonly connectedOnce: number;
  /** Online and has published a health report: booted, subscribed, synced and reporting. */
  readonly ready: number;
}

export interface VirtualFleet {
  /** A snapshot of every device (in spec order; late joiners at the end). */
  observe(): Promise<readonly DeviceObservation[]>;
  /** The fleet's counts; cheap enough to poll while thousands of devices join (observe reads every journal). */
  tally(): Promise<FleetTally>;
  /** Late joiners: started now (joinAfterMs counted from now). */
  addDevices(specs: readonly VirtualDeviceSpec[]): Promise<void>;
  /** Devices per phase (and 'offline'), about once a second while anything changes; returns the unsubscribe. */
  onProgress(listener: (counts: Readonly<Record<string, number>>) => void): () => void;
  /** Graceful: agents closed, journal flushed, workers ended. */
  close(): Promise<void>;
}

/** Implemented in ./fleet.ts; re-exported by the package index. */
export type StartVirtualFleet = (options: VirtualFleetOptions) => Promise<VirtualFleet>;

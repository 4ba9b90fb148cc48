/**
 * The seams between the agent's parts, written once so each side can be built and tested on its own:
 * - the update flow (update/, jobs/, journal/, outbox/) consumes health checks and the application supervisor;
 * - the device-facing parts (health/, shadow/, app/, server/) consume the durable publisher and the status snapshot
 *   the update flow keeps.
 * The composition root (agent.ts) wires real implementations; the simulator wires virtual ones.
 */
import type {
  HealthChecks,
  HealthCounters,
  LastUpdate,
  OtaJobOperation,
  OtaPhase,
  OtaReasonCode,
  SlotContent,
} from '@otafleet/protocol';

/** Facts a device knows about itself, fixed for the life of the process. */
export interface DeviceFacts {
  readonly thingName: string;
  readonly hardwareType: string;
  readonly agentVersion: string;
}

/**
 * Publishes at QoS 1 through the durable outbox: the returned promise resolves once the message is on disk (not
 * when it reaches the broker); the outbox delivers it once the connection is up, across reconnects and restarts,
 * and forgets it only after the broker's PUBACK.
 */
export type DurablePublish = (topic: string, payload: string) => Promise<void>;

/** What the update flow says about itself, for health reports, the reported shadow and the local endpoint. */
export interface UpdateStatus {
  /** The update in progress, if any. */
  readonly current:
    | {
        readonly jobId: string;
        readonly operation: OtaJobOperation;
        readonly phase: OtaPhase;
        readonly toVersion?: string;
        readonly progress?: number;
      }
    | undefined;
  readonly lastUpdate: LastUpdate | undefined;
  /** Lifetime count of rollbacks this device performed (automatic or operator-driven). */
  readonly rollbackCount: number;
}

/** What the slots hold and which one runs, as reported. */
export interface SlotStatus {
  readonly activeSlot: 'A' | 'B';
  readonly running: SlotContent | undefined;
  readonly previous: SlotContent | undefined;
  readonly slots: Partial<Record<'A' | 'B', SlotContent>>;
}

/** Live view for the device-facing parts; each call returns the current snapshot. */
export interface AgentStatusSource {
  update(): UpdateStatus;
  slots(): SlotStatus;
  /** Whether the MQTT connection is up and the classic shadow has been synced since it came up. */
  broker(): { readonly connected: boolean; readonly shadowSynced: boolean };
}

/** The verdict of the post-update health checks. */
export type HealthVerdict =
  | { readonly healthy: true; readonly passes: number }
  | {
      readonly healthy: false;
      readonly reasonCode: Extract<OtaReasonCode, 'HEALTH_CHECK_FAILED' | 'HEALTH_CHECK_TIMEOUT' | 'CRASH_LOOP'>;
      /** Which check failed and how, in words an operator can act on. */
      readonly reason: string;
    };

/**
 * Runs a job document's health checks (HTTP probe, command, process alive, broker + shadow sync) until
 * `requiredPasses` consecutive passes or the deadline. `deadlineAt` is absolute (epoch ms, the agent's clock), so a
 * restart mid-check continues against the same deadline. Aborting the signal ends it with HEALTH_CHECK_TIMEOUT.
 */
export interface HealthCheckRunner {
  run(
    checks: HealthChecks,
    options: { readonly deadlineAt: number; readonly signal?: AbortSignal },
  ): Promise<HealthVerdict>;
}

/**
 * Runs the application from the active slot (directory slots) and counts what the health report carries. A crash
 * is an exit the supervisor did not ask for.
 */
export interface ApplicationSupervisor {
  /** Starts the application from the active slot; resolves once it is spawned. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after a grace period) and starts it again from the active slot. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Whether it runs now, and since when (epoch ms). */
  running(): { readonly running: boolean; readonly since?: number; readonly pid?: number };
  /** Unrequested exits since `since` (epoch ms): the crash-loop rule reads it. */
  crashesSince(since: number): number;
}

/** Counters since boot for the health report (protocol's HealthCounters), kept by whoever sees the events. */
export interface HealthCounterSource {
  counters(): HealthCounters;
}

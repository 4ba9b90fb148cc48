import type { Result } from '@otafleet/protocol';
import type { GateConfig, GateVerdict } from '../rollout/health-gate.js';
import type { RolloutEvent, RolloutStatus, WaveEvent, WaveStatus } from '../rollout/states.js';
import type { MaintenancePlan } from '../rollout/maintenance-windows.js';
import type { RolloutRate } from '../rollout/rollout-rate.js';
import type { PlannedWave, WaveSpec } from '../rollout/wave-plan.js';

export type RolloutTarget =
  { readonly kind: 'group'; readonly groupName: string } | { readonly kind: 'query'; readonly queryString: string };

export type BreachAction = 'pause' | 'abort' | 'rollback';

/** What an operator asked for; stored as given and never changed afterwards. */
export interface RolloutDefinition {
  readonly name: string;
  readonly bundle: { readonly bundleId: string; readonly version: string };
  readonly target: RolloutTarget;
  readonly waves: readonly WaveSpec[];
  /** Seeds the random wave membership, so the same rollout always picks the same canary. */
  readonly seed: string;
  readonly gate: GateConfig;
  readonly onBreach: BreachAction;
  readonly soakSeconds: number;
  readonly waveTimeoutSeconds: number;
  readonly startAt?: number;
  readonly maxPerMinute?: number;
  /** Maintenance windows as the operator wrote them and as each wave's job gets them (AWS's UTC form). */
  readonly maintenance?: MaintenancePlan;
  /** Each wave's job rollout rate (AWS's jobExecutionsRolloutConfig); wins over maxPerMinute. */
  readonly rate?: RolloutRate;
}

export interface RolloutRecord {
  readonly id: string;
  readonly definition: RolloutDefinition;
  readonly status: RolloutStatus;
  /** The wave being deployed or judged (the index of the first wave not yet passed). */
  readonly currentWave: number;
  /** Why the rollout is where it is, in words (the gate's finding, the operator's note). */
  readonly statusReason: string | undefined;
  /** Optimistic concurrency: every change increments it. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface WaveRecord {
  readonly rolloutId: string;
  readonly index: number;
  readonly name: string;
  readonly status: WaveStatus;
  readonly rankCeiling: number;
  /** The AWS IoT job that deploys this wave, once created. */
  readonly jobId: string | undefined;
  readonly deployedAt: number | undefined;
  readonly settledAt: number | undefined;
  readonly decidedAt: number | undefined;
  readonly verdict: GateVerdict | undefined;
}

export interface AuditEntry {
  readonly seq: number;
  readonly rolloutId: string;
  readonly at: number;
  /** Who: an operator's name, or `service` for the rollout engine's own decisions. */
  readonly actor: string;
  readonly action: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly detail: string | undefined;
}

export type StoreError =
  | { readonly code: 'NOT_FOUND'; readonly message: string }
  | { readonly code: 'ALREADY_EXISTS'; readonly message: string }
  | { readonly code: 'VERSION_CONFLICT'; readonly message: string; readonly currentVersion: number }
  | { readonly code: 'ILLEGAL_TRANSITION'; readonly message: string };

export interface ChangeContext {
  readonly at: number;
  readonly actor: string;
  /** Refuse the change unless the record is still at this version. */
  readonly expectedVersion?: number;
  readonly reason?: string;
}

export interface WaveChange extends ChangeContext {
  readonly jobId?: string;
  readonly verdict?: GateVerdict;
}

/**
 * The fleet service's durable rollout state. Every change is one transaction with its audit entry, committed to
 * disk before the promise resolves; status changes go through the one transition table, so no store can hold a
 * state the machine cannot reach. Promise-returning, so a networked database can implement it too.
 */
export interface RolloutStore {
  createRollout(
    id: string,
    definition: RolloutDefinition,
    plan: readonly PlannedWave[],
    context: ChangeContext,
  ): Promise<Result<RolloutRecord, StoreError>>;
  getRollout(id: string): Promise<RolloutRecord | undefined>;
  listRollouts(filter?: { readonly status?: RolloutStatus }): Promise<readonly RolloutRecord[]>;
  applyRolloutEvent(
    id: string,
    event: RolloutEvent,
    context: ChangeContext & { readonly currentWave?: number },
  ): Promise<Result<RolloutRecord, StoreError>>;
  waves(rolloutId: string): Promise<readonly WaveRecord[]>;
  applyWaveEvent(
    rolloutId: string,
    index: number,
    event: WaveEvent,
    change: WaveChange,
  ): Promise<Result<WaveRecord, StoreError>>;
  /** Puts devices in a wave; a device already in the rollout stays where it is. Returns the ones added. */
  addDevices(
    rolloutId: string,
    index: number,
    thingNames: readonly string[],
    context: ChangeContext,
  ): Promise<Result<readonly string[], StoreError>>;
  devices(rolloutId: string, index?: number): Promise<readonly { readonly thingName: string; readonly wave: number }[]>;
  auditLog(rolloutId: string): Promise<readonly AuditEntry[]>;
  close(): Promise<void>;
}

import type { AuditEntry } from '@otafleet/fleet-service';
import type { DeviceObservation } from '../fleet/contracts.js';
import type { ScenarioPlan } from '../scenario/expand.js';
import type { RolloutView } from '../run/fleet-api.js';
import type { CoreExecution } from '../run/registry.js';

/** Everything a run found out, before it is summed up. */
export interface RunFacts {
  readonly plan: ScenarioPlan;
  readonly stack:
    | { readonly kind: 'local' }
    | { readonly kind: 'running'; readonly fleetApi: string; readonly mqttUrl: string; readonly namespace: string };
  readonly rollout: RolloutView;
  readonly release: string;
  /** The rollout reached a status where nothing moves without an operator, before the deadline. */
  readonly reachedRest: boolean;
  readonly interrupted: boolean;
  readonly deadlineSeconds: number;
  /** Devices of each deployed wave (its thing group), by wave index. */
  readonly waveMembers: ReadonlyMap<number, readonly string[]>;
  /** Every execution of the rollout's jobs (waves and rollback) as the core's Jobs service has it. */
  readonly executions: readonly CoreExecution[];
  readonly observations: readonly DeviceObservation[];
  readonly audit: readonly AuditEntry[];
  readonly timings: Readonly<Record<string, number>>;
}

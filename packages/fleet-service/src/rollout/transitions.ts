import { err, ok, type Result } from '@otafleet/protocol';
import { type RolloutEvent, type RolloutStatus, type WaveEvent, type WaveStatus } from './states.js';

/**
 * THE rollout state machine, in one place: `(status, event) → next status`. The service journals the next status
 * (with the audit entry) before it acts on it, so a restart re-enters the stored status and acts again; every
 * action is idempotent against AWS IoT (jobs are created with deterministic ids). A pair that is not listed is
 * refused with a message that names both.
 */
type Row<S, E> = readonly [S, E, S];

export const ROLLOUT_TRANSITIONS: readonly Row<RolloutStatus, RolloutEvent>[] = [
  ['scheduled', 'start', 'running'],
  ['scheduled', 'cancel', 'canceled'],
  ['scheduled', 'pause', 'paused'],

  ['running', 'pause', 'paused'],
  ['running', 'cancel', 'canceled'],
  ['running', 'abort', 'aborted'],
  ['running', 'rollback', 'rolling-back'],
  ['running', 'gate-breached-pause', 'paused'],
  ['running', 'gate-breached-abort', 'aborted'],
  ['running', 'gate-breached-rollback', 'rolling-back'],
  ['running', 'wave-passed', 'running'],
  ['running', 'last-wave-passed', 'completed'],

  ['paused', 'resume', 'running'],
  ['paused', 'promote', 'running'],
  ['paused', 'cancel', 'canceled'],
  ['paused', 'abort', 'aborted'],
  ['paused', 'rollback', 'rolling-back'],

  // Aborting stops the rollout where it is; an operator may still send the updated devices back afterwards.
  ['aborted', 'rollback', 'rolling-back'],

  ['rolling-back', 'rollback-finished', 'rolled-back'],
];

export const WAVE_TRANSITIONS: readonly Row<WaveStatus, WaveEvent>[] = [
  ['pending', 'deploy', 'deploying'],
  ['pending', 'skip', 'skipped'],
  ['deploying', 'settled', 'soaking'],
  ['deploying', 'device-joined', 'deploying'],
  // A gate can be breached before every execution settled (enough failures already): stop early.
  ['deploying', 'gate-breached', 'failed'],
  ['soaking', 'gate-passed', 'passed'],
  ['soaking', 'gate-breached', 'failed'],
  ['soaking', 'device-joined', 'soaking'],
  ['failed', 'promote', 'passed'],
];

type Table<S extends string, E extends string> = ReadonlyMap<S, ReadonlyMap<E, S>>;

function index<S extends string, E extends string>(rows: readonly Row<S, E>[]): Table<S, E> {
  const table = new Map<S, Map<E, S>>();
  for (const [from, event, to] of rows) {
    const row = table.get(from) ?? new Map<E, S>();
    if (row.has(event)) throw new Error(`transition table lists ${from} + ${event} twice`);
    row.set(event, to);
    table.set(from, row);
  }
  return table;
}

const rolloutTable = index(ROLLOUT_TRANSITIONS);
const waveTable = index(WAVE_TRANSITIONS);

export interface IllegalTransition {
  readonly code: 'ILLEGAL_TRANSITION';
  readonly from: string;
  readonly event: string;
  readonly message: string;
}

function step<S extends string, E extends string>(
  table: Table<S, E>,
  what: string,
  from: S,
  event: E,
): Result<S, IllegalTransition> {
  const to = table.get(from)?.get(event);
  if (to !== undefined) return ok(to);
  const allowed = [...(table.get(from)?.keys() ?? [])];
  const hint = allowed.length === 0 ? `${from} is final` : `from ${from} only ${allowed.join(', ')}`;
  return err({
    code: 'ILLEGAL_TRANSITION',
    from,
    event,
    message: `a ${what} that is ${from} cannot take ${event} (${hint})`,
  });
}

export const nextRolloutStatus = (from: RolloutStatus, event: RolloutEvent): Result<RolloutStatus, IllegalTransition> =>
  step(rolloutTable, 'rollout', from, event);

export const nextWaveStatus = (from: WaveStatus, event: WaveEvent): Result<WaveStatus, IllegalTransition> =>
  step(waveTable, 'wave', from, event);

/** Final: nothing can move it any more (an aborted rollout is not: its updated devices can still be sent back). */
export const isFinalRolloutStatus = (status: RolloutStatus): boolean => !rolloutTable.has(status);

/** No further wave will be deployed. */
export const isRolloutStopped = (status: RolloutStatus): boolean =>
  status !== 'scheduled' && status !== 'running' && status !== 'paused';

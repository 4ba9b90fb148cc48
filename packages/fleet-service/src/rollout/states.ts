/**
 * The vocabulary of a rollout's durable state machine. A rollout moves through its waves one at a time; the
 * rollout's own status says whether it is moving, held or finished, and each wave says where it is in
 * deploy → soak → gate.
 */
export const ROLLOUT_STATUSES = [
  /** Created; waits for its start time (or for the first tick). */
  'scheduled',
  /** Deploying, soaking or gating its current wave. */
  'running',
  /** Held by an operator or a breached gate whose action is pause; resume or promote moves it on. */
  'paused',
  /** Every wave passed its gate. */
  'completed',
  /** Stopped for good: an operator's abort or a breached gate whose action is abort. */
  'aborted',
  /** A breached gate (or an operator) asked for the updated devices to be returned to the previous release. */
  'rolling-back',
  /** Every updated device was sent back (its `ota.rollback` job reached a final status). */
  'rolled-back',
  /** Canceled by an operator before it finished; deployed devices keep what they have. */
  'canceled',
] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const ROLLOUT_EVENTS = [
  'start',
  'pause',
  'resume',
  /** Manual promotion past a gate that holds (a failed gate with action pause, or one that asks for approval). */
  'promote',
  'cancel',
  'abort',
  'gate-breached-pause',
  'gate-breached-abort',
  'gate-breached-rollback',
  'rollback',
  /** A wave passed its gate and the next one becomes current (the status stays running). */
  'wave-passed',
  'last-wave-passed',
  'rollback-finished',
] as const;
export type RolloutEvent = (typeof ROLLOUT_EVENTS)[number];

/** The events an operator may send (the rest are the engine's own). */
export const OPERATOR_ACTIONS = [
  'pause',
  'resume',
  'cancel',
  'abort',
  'rollback',
  'promote',
] as const satisfies readonly RolloutEvent[];
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

export const WAVE_STATUSES = [
  /** Not reached yet. */
  'pending',
  /** Its job exists; devices are installing. */
  'deploying',
  /** Every execution settled (or the wave timed out); the soak time runs before the gate is judged. */
  'soaking',
  /** Its gate passed (or an operator promoted it): the next wave may start. */
  'passed',
  /** Its gate was breached. */
  'failed',
  /** Never deployed: the rollout ended before it. */
  'skipped',
] as const;
export type WaveStatus = (typeof WAVE_STATUSES)[number];

export const WAVE_EVENTS = [
  'deploy',
  'settled',
  'gate-passed',
  'gate-breached',
  'promote',
  'skip',
  /** A device that joined the target after this wave was deployed is added to it. */
  'device-joined',
] as const;
export type WaveEvent = (typeof WAVE_EVENTS)[number];

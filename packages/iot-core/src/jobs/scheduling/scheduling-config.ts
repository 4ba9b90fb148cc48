import { err, ok, type Result } from '@otafleet/protocol';
import { parseAwsCron, type AwsCron } from './aws-cron.js';
import { nextCronFire } from './cron-next.js';
import { addUtcYears, parseScheduleTimestamp } from './schedule-timestamp.js';

export const JOB_END_BEHAVIORS = ['STOP_ROLLOUT', 'CANCEL', 'FORCE_CANCEL'] as const;
export type JobEndBehavior = (typeof JOB_END_BEHAVIORS)[number];

/** CreateJob's `schedulingConfig` as it arrives (the wire shape; see the SchedulingConfig API reference). */
export interface SchedulingConfigInput {
  readonly startTime?: string | undefined;
  readonly endTime?: string | undefined;
  readonly endBehavior?: string | undefined;
  readonly maintenanceWindows?: readonly MaintenanceWindowInput[] | undefined;
}

export interface MaintenanceWindowInput {
  readonly startTime: string;
  readonly durationInMinutes: number;
}

export interface ValidMaintenanceWindow {
  readonly startTime: string;
  readonly cron: AwsCron;
  readonly durationInMinutes: number;
}

/** A checked scheduling config, times as epoch ms (UTC). */
export interface ValidScheduling {
  readonly startTime: number | undefined;
  /** When rollout may begin: startTime, or the instant the config was validated (the job's creation) without one. */
  readonly rolloutFrom: number;
  readonly endTime: number | undefined;
  readonly endBehavior: JobEndBehavior | undefined;
  readonly maintenanceWindows: readonly ValidMaintenanceWindow[];
}

export interface SchedulingConfigError {
  /** The member at fault, in AWS's notation: `schedulingConfig.maintenanceWindows[1].durationInMinutes`. */
  readonly field: string;
  readonly message: string;
}

/** The limits the SchedulingConfig and MaintenanceWindow API references state. */
export const SCHEDULING_LIMITS = {
  /** startTime and endTime are at least 30 minutes after the current time, and endTime 30 minutes after startTime. */
  minLeadMinutes: 30,
  minDurationMinutes: 30,
  /**
   * startTime "can be scheduled up to a year in advance"; endTime no later than two years from now (which also
   * keeps AWS's "maximum duration between startTime and endTime is two years", as startTime is after now).
   */
  maxStartYearsAhead: 1,
  maxEndYearsAhead: 2,
  /** Both start and end times are strings of 1-64 characters; a window's cron 1-256. */
  maxTimeLength: 64,
  maxCronLength: 256,
  /** MaintenanceWindow.durationInMinutes: 1-1430. */
  minWindowMinutes: 1,
  maxWindowMinutes: 1430,
} as const;

const MINUTE_MS = 60_000;

/**
 * Checks a CreateJob schedulingConfig against AWS's documented rules, at `nowMs`, and parses its times and
 * cron expressions. endBehavior without endTime is accepted and has no effect ("If endTime is not selected …
 * endBehavior does not apply"). One rule is this core's own: a maintenance window must open at least once
 * between the job's start (now, or startTime) and its endTime — a window that never opens is a mistake.
 */
export function validateSchedulingConfig(
  config: SchedulingConfigInput,
  nowMs: number,
): Result<ValidScheduling, SchedulingConfigError> {
  const L = SCHEDULING_LIMITS;
  const fail = (field: string, message: string): Result<ValidScheduling, SchedulingConfigError> =>
    err({ field: `schedulingConfig.${field}`, message });

  const startTime = parseTime(config.startTime);
  if (startTime === 'invalid') return fail('startTime', timeFormatMessage('startTime', config.startTime));
  const endTime = parseTime(config.endTime);
  if (endTime === 'invalid') return fail('endTime', timeFormatMessage('endTime', config.endTime));

  if (startTime !== undefined) {
    if (startTime < nowMs + L.minLeadMinutes * MINUTE_MS) {
      return fail('startTime', `startTime must be at least ${L.minLeadMinutes} minutes after the current time`);
    }
    if (startTime > addUtcYears(nowMs, L.maxStartYearsAhead)) {
      return fail('startTime', 'startTime can be at most one year after the current time');
    }
  }
  if (endTime !== undefined) {
    if (endTime < nowMs + L.minLeadMinutes * MINUTE_MS) {
      return fail('endTime', `endTime must be at least ${L.minLeadMinutes} minutes after the current time`);
    }
    if (endTime > addUtcYears(nowMs, L.maxEndYearsAhead)) {
      return fail('endTime', 'endTime can be at most two years after the current time');
    }
    const from = startTime ?? nowMs;
    if (endTime < from + L.minDurationMinutes * MINUTE_MS) {
      return fail('endTime', `endTime must be at least ${L.minDurationMinutes} minutes after startTime`);
    }
  }

  let endBehavior: JobEndBehavior | undefined;
  if (config.endBehavior !== undefined) {
    endBehavior = JOB_END_BEHAVIORS.find((b) => b === config.endBehavior);
    if (endBehavior === undefined) {
      return fail('endBehavior', `endBehavior must be one of ${JOB_END_BEHAVIORS.join(', ')}: ${config.endBehavior}`);
    }
  }

  const windows: ValidMaintenanceWindow[] = [];
  for (const [i, window] of (config.maintenanceWindows ?? []).entries()) {
    const at = `maintenanceWindows[${i}]`;
    const expression = window.startTime;
    if (typeof expression !== 'string' || expression.length < 1 || expression.length > L.maxCronLength) {
      return fail(
        `${at}.startTime`,
        `a maintenance window's startTime is a cron expression of 1-${L.maxCronLength} characters`,
      );
    }
    const cron = parseAwsCron(expression);
    if (!cron.ok) return fail(`${at}.startTime`, cron.error.message);
    const minutes = window.durationInMinutes;
    if (!Number.isInteger(minutes) || minutes < L.minWindowMinutes || minutes > L.maxWindowMinutes) {
      return fail(
        `${at}.durationInMinutes`,
        `durationInMinutes must be a whole number from ${L.minWindowMinutes} to ${L.maxWindowMinutes}: ${String(minutes)}`,
      );
    }
    const from = startTime ?? nowMs;
    const firstFire = nextCronFire(cron.value, from - minutes * MINUTE_MS);
    if (firstFire === null || (endTime !== undefined && firstFire >= endTime)) {
      return fail(
        `${at}.startTime`,
        `the maintenance window "${expression}" never opens ${endTime === undefined ? 'after the job starts' : "between the job's start and its endTime"}`,
      );
    }
    windows.push({ startTime: expression, cron: cron.value, durationInMinutes: minutes });
  }

  return ok({ startTime, rolloutFrom: startTime ?? nowMs, endTime, endBehavior, maintenanceWindows: windows });
}

function parseTime(text: string | undefined): number | undefined | 'invalid' {
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || text.length < 1 || text.length > SCHEDULING_LIMITS.maxTimeLength) return 'invalid';
  return parseScheduleTimestamp(text) ?? 'invalid';
}

const timeFormatMessage = (field: string, value: string | undefined): string =>
  `${field} must be a date and time such as 2026-03-01T14:30 (YYYY-MM-DDTHH:MM, UTC unless it ends in Z or ±HH:MM): ${String(value)}`;

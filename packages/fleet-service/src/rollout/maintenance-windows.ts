import { Type, type Static } from '@sinclair/typebox';
import { parse as parseNodeCron, validateDetailed } from 'node-cron';
import { err, ok, type Result } from '@otafleet/protocol';

/**
 * Maintenance windows: an operator writes node-cron's 5-field form in a time zone of their choosing; AWS IoT Jobs
 * takes `schedulingConfig.maintenanceWindows[].startTime` as an EventBridge-style 6-field cron in UTC
 * (`cron(minutes hours day-of-month month day-of-week year)`, day-of-week 1-7 with 1 = Sunday, exactly one of the
 * two day fields `?`) and `durationInMinutes` 1-1430. This module converts one into the other, or refuses what the
 * AWS form cannot say, and says why.
 */
export const MaintenanceWindowSchema = Type.Object(
  {
    /** node-cron, 5 fields: minute hour day-of-month month day-of-week (0 or 7 = Sunday). */
    cron: Type.String({ minLength: 1, maxLength: 200 }),
    durationMinutes: Type.Integer(),
  },
  { additionalProperties: false },
);
export const MaintenanceSchema = Type.Object(
  {
    /** An IANA zone (`Europe/Berlin`, `UTC`, `Asia/Kolkata`); UTC when absent. */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    windows: Type.Array(MaintenanceWindowSchema, { minItems: 1, maxItems: 10 }),
  },
  { additionalProperties: false },
);
export type MaintenanceInput = Static<typeof MaintenanceSchema>;

/** One window as AWS IoT takes it (the CreateJob member). */
export interface AwsMaintenanceWindow {
  readonly startTime: string;
  readonly durationInMinutes: number;
}

/** What a rollout stores: the operator's windows as given, and their AWS form, computed once at creation. */
export interface MaintenancePlan {
  readonly timeZone: string;
  readonly windows: readonly { readonly cron: string; readonly durationMinutes: number }[];
  readonly aws: readonly AwsMaintenanceWindow[];
}

export interface FieldIssue {
  /** The member at fault, as a path in the request body: `maintenance.windows[0].cron`. */
  readonly field: string;
  readonly message: string;
}

/** MaintenanceWindow.durationInMinutes, from the API reference. */
export const AWS_WINDOW_MINUTES = { min: 1, max: 1430 } as const;

const DAY_MS = 86_400_000;

/** The zone's UTC offset in minutes at `at` (Berlin in summer: +120). */
export function zoneOffsetMinutes(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(at));
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'));
  return Math.round((wall - Math.floor(at / 60_000) * 60_000) / 60_000);
}

/** The one offset a zone keeps all year, or undefined when it changes (daylight saving time). */
function fixedOffset(timeZone: string, now: number): number | undefined {
  const first = zoneOffsetMinutes(timeZone, now);
  // The 1st and 15th of each of the next 13 months catch any seasonal change.
  for (let d = 0; d <= 400; d += 15) if (zoneOffsetMinutes(timeZone, now + d * DAY_MS) !== first) return undefined;
  return first;
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** `[1,2,3,5]` → `1-3,5`; the whole range → `*`. */
function compact(values: readonly number[], full: number): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === full) return '*';
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const numbers = (values: readonly (number | string)[]): number[] | undefined =>
  values.every((v) => typeof v === 'number') ? (values as number[]) : undefined;

/** Converts one node-cron expression in a zone of fixed offset to AWS's UTC cron. */
function toAwsCron(expression: string, offsetMinutes: number, zone: string): Result<string, string> {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    return err(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}` +
        (fields.length === 6
          ? ": node-cron's seconds field has no AWS equivalent (AWS windows start on a minute)"
          : ''),
    );
  }
  const check = validateDetailed(expression);
  if (!check.valid) return err(check.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  const parsed = parseNodeCron(expression);
  const dom = numbers(parsed.dayOfMonth);
  const dow = numbers(parsed.dayOfWeek);
  if (dom === undefined || dow === undefined) return err('only numeric days are supported');
  const domRestricted = new Set(dom).size !== 31;
  const dowRestricted = new Set(dow.map((d) => d % 7)).size !== 7;
  if (domRestricted && dowRestricted) {
    return err(
      'AWS cron takes a day of the month or a day of the week, not both (the other must be "?"); restrict only one, or write two windows',
    );
  }
  const monthRestricted = new Set(parsed.month).size !== 12;

  // Every start time of a day, moved to UTC; they must all land on the same UTC day (one day shift) and still
  // form minutes × hours, or no single AWS expression says the same.
  let dayShift: number | undefined;
  const pairs = new Set<string>();
  const minutes = new Set<number>();
  const hours = new Set<number>();
  for (const h of parsed.hour) {
    for (const m of parsed.minute) {
      const utc = h * 60 + m - offsetMinutes;
      const shift = Math.floor(utc / 1440);
      const inDay = utc - shift * 1440;
      if (dayShift !== undefined && shift !== dayShift) {
        return err(
          `in UTC (AWS's only zone) some start times of this window fall on the previous or next day and others do not (${zone} is UTC${offsetMinutes >= 0 ? '+' : ''}${offsetMinutes / 60}); split it into windows that do not cross midnight UTC`,
        );
      }
      dayShift = shift;
      pairs.add(`${Math.floor(inDay / 60)}:${inDay % 60}`);
      minutes.add(inDay % 60);
      hours.add(Math.floor(inDay / 60));
    }
  }
  if (pairs.size !== minutes.size * hours.size) {
    return err(
      `moved to UTC the start times are no longer every listed minute of every listed hour; use whole-hour offsets or single times`,
    );
  }
  const shift = dayShift ?? 0;
  if (shift !== 0 && (domRestricted || monthRestricted)) {
    return err(
      `in UTC this window starts on the ${shift < 0 ? 'previous' : 'next'} day, which moves days of the month and months across their ends; use a day-of-week window or a zone where it does not cross midnight UTC`,
    );
  }
  const awsDow = dowRestricted
    ? compact(
        dow.map((d) => ((((d + shift) % 7) + 7) % 7) + 1),
        7,
      )
    : '?';
  const awsDom = dowRestricted ? '?' : compact(dom, 31);
  return ok(
    `cron(${compact([...minutes], 60)} ${compact([...hours], 24)} ${awsDom} ${compact(parsed.month, 12)} ${awsDow} *)`,
  );
}

/** Checks the operator's windows and maps them onto AWS's form; the first problem found, naming its field. */
export function planMaintenance(input: MaintenanceInput, now: number): Result<MaintenancePlan, FieldIssue> {
  const timeZone = input.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) {
    return err({
      field: 'maintenance.timeZone',
      message: `unknown time zone "${timeZone}" (an IANA name such as UTC or Europe/Berlin)`,
    });
  }
  const offset = fixedOffset(timeZone, now);
  if (offset === undefined) {
    return err({
      field: 'maintenance.timeZone',
      message: `${timeZone} changes its UTC offset during the year (daylight saving time); AWS IoT evaluates maintenance windows in UTC only, so a window there cannot be mapped. Use UTC or a zone with a fixed offset`,
    });
  }
  const aws: AwsMaintenanceWindow[] = [];
  for (const [i, w] of input.windows.entries()) {
    const at = `maintenance.windows[${i}]`;
    const cron = toAwsCron(w.cron, offset, timeZone);
    if (!cron.ok) return err({ field: `${at}.cron`, message: `"${w.cron}": ${cron.error}` });
    if (w.durationMinutes < AWS_WINDOW_MINUTES.min || w.durationMinutes > AWS_WINDOW_MINUTES.max) {
      return err({
        field: `${at}.durationMinutes`,
        message: `AWS IoT takes a maintenance window of ${AWS_WINDOW_MINUTES.min} to ${AWS_WINDOW_MINUTES.max} minutes, got ${w.durationMinutes}`,
      });
    }
    aws.push({ startTime: cron.value, durationInMinutes: w.durationMinutes });
  }
  return ok({ timeZone, windows: input.windows.map((w) => ({ ...w })), aws });
}

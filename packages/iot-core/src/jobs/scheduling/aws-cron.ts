import { err, ok, type Result } from '@otafleet/protocol';

/**
 * AWS's cron format (EventBridge's cron expressions reference, which AWS IoT Jobs maintenance windows use):
 * six fields `minutes hours day-of-month month day-of-week year`, UTC, written `cron(0 0 ? * SUN *)` or bare.
 *
 *   minutes 0-59, hours 0-23, month 1-12 or JAN-DEC, year 1970-2199:   , - * /
 *   day-of-month 1-31:     , - * / ?  and alone: L (last day), LW (last weekday), nW (weekday nearest day n)
 *   day-of-week 1-7 or SUN-SAT (1 = SUN):   , - * ?  and alone: L (= SAT), nL (last day n of the month),
 *                                           n#k (k-th day n of the month, k 1-5)
 *
 * Exactly one of day-of-month and day-of-week is `?`. Refused with a message naming the field: `/` in
 * day-of-week (the reference lists no `/` there), wrap-around ranges (`FRI-MON`), `L-n` offsets, `W` with a
 * list or range, and `rate(...)` expressions.
 */
export interface AwsCron {
  /** The expression as given. */
  readonly expression: string;
  /** Bit i set: value i allowed (minutes 0-59 and hours 0-23 as bit arrays; months 1-12). */
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly months: readonly boolean[];
  /** Indexed by year - 1970. */
  readonly years: readonly boolean[];
  readonly days: DaySpec;
}

export type DaySpec =
  | {
      readonly kind: 'dayOfMonth';
      /** Indexed 1-31. */
      readonly days: readonly boolean[];
      readonly last: boolean;
      readonly lastWeekday: boolean;
      readonly nearestWeekdayTo: number | undefined;
    }
  | {
      readonly kind: 'dayOfWeek';
      /** Indexed 1-7, 1 = Sunday. */
      readonly weekdays: readonly boolean[];
      readonly lastOfMonth: number | undefined;
      readonly nth: { readonly weekday: number; readonly n: number } | undefined;
    };

export const CRON_FIRST_YEAR = 1970;
export const CRON_LAST_YEAR = 2199;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly step: boolean;
}

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59, step: true };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23, step: true };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31, step: true };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS, step: true };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, step: false };
const YEAR: FieldSpec = { name: 'year', min: CRON_FIRST_YEAR, max: CRON_LAST_YEAR, step: true };

export interface AwsCronError {
  readonly message: string;
}

class CronFailure extends Error {}

/** Parses an AWS cron expression; the error says which field is wrong and why. */
export function parseAwsCron(expression: string): Result<AwsCron, AwsCronError> {
  const fail = (detail: string): Result<AwsCron, AwsCronError> =>
    err({ message: `Invalid cron expression "${expression}": ${detail}` });
  const trimmed = expression.trim();
  if (/^rate\s*\(/i.test(trimmed)) return fail('rate() expressions are not supported here; use cron(...)');
  let body = trimmed;
  if (/^cron\s*\(/i.test(trimmed)) {
    if (!trimmed.endsWith(')')) return fail('missing ")" at the end of cron(...)');
    body = trimmed.slice(trimmed.indexOf('(') + 1, -1).trim();
  }
  const fields = body.length === 0 ? [] : body.split(/\s+/);
  if (fields.length !== 6) {
    return fail(
      `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found ${fields.length}`,
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  try {
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      throw new CronFailure(
        dayOfMonth === '?'
          ? 'day-of-month and day-of-week cannot both be "?": give a value or * in one of them'
          : 'day-of-month and day-of-week cannot both be set: use "?" in one of them',
      );
    }
    return ok({
      expression,
      minutes: parseNumericField(minutes, MINUTES),
      hours: parseNumericField(hours, HOURS),
      months: parseNumericField(month, MONTH),
      years: parseNumericField(year, YEAR).slice(CRON_FIRST_YEAR),
      days: dayOfWeek === '?' ? parseDayOfMonth(dayOfMonth) : parseDayOfWeek(dayOfWeek),
    });
  } catch (e) {
    if (e instanceof CronFailure) return fail(e.message);
    throw e;
  }
}

/** A field of `,`-separated items `*`, `v`, `a-b`, each optionally `/step`; returns allowed[v] for v in min..max. */
function parseNumericField(text: string, spec: FieldSpec): boolean[] {
  const allowed = new Array<boolean>(spec.max + 1).fill(false);
  if (text === '?') throw new CronFailure(`"?" is allowed only in day-of-month and day-of-week, not in ${spec.name}`);
  for (const item of text.split(',')) {
    if (item === '') throw new CronFailure(`empty item in the ${spec.name} field "${text}"`);
    const [rangeText, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new CronFailure(`more than one "/" in the ${spec.name} item "${item}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!spec.step) throw new CronFailure(`"/" is not allowed in the ${spec.name} field`);
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) {
        throw new CronFailure(`the step in the ${spec.name} item "${item}" must be a whole number of at least 1`);
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (rangeText === '*') {
      from = spec.min;
      to = spec.max;
    } else {
      const [a, b, more] = (rangeText ?? '').split('-');
      if (more !== undefined) throw new CronFailure(`the ${spec.name} item "${item}" is not a value or a range a-b`);
      from = fieldValue(a ?? '', spec, item);
      to = b === undefined ? (stepText === undefined ? from : spec.max) : fieldValue(b, spec, item);
      if (from > to) {
        throw new CronFailure(
          `the ${spec.name} range "${rangeText ?? ''}" runs backwards; wrap-around ranges are not supported`,
        );
      }
    }
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

function fieldValue(text: string, spec: FieldSpec, item: string): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.min;
  if (!/^\d+$/.test(text)) {
    const what = spec.names === undefined ? 'a number' : `a number or one of ${spec.names.join(',')}`;
    throw new CronFailure(`"${text}" in the ${spec.name} item "${item}" is not ${what}`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new CronFailure(`${spec.name} value ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

function parseDayOfMonth(text: string): DaySpec {
  const special = {
    kind: 'dayOfMonth',
    days: new Array<boolean>(32).fill(false),
    last: false,
    lastWeekday: false,
    nearestWeekdayTo: undefined,
  } as const;
  if (text === 'L') return { ...special, last: true };
  if (text === 'LW') return { ...special, lastWeekday: true };
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday !== null) {
    const day = Number(weekday[1]);
    if (day < 1 || day > 31) throw new CronFailure(`day-of-month value ${day} is outside 1-31`);
    return { ...special, nearestWeekdayTo: day };
  }
  if (/[LW]/.test(text)) {
    throw new CronFailure(`"${text}": in day-of-month, L, LW and nW stand alone (no lists, ranges or L-n offsets)`);
  }
  return { ...special, days: parseNumericField(text, DAY_OF_MONTH) };
}

function parseDayOfWeek(text: string): DaySpec {
  const base = {
    kind: 'dayOfWeek',
    weekdays: new Array<boolean>(8).fill(false),
    lastOfMonth: undefined,
    nth: undefined,
  } as const;
  if (text === 'L') return { ...base, weekdays: base.weekdays.map((_, i) => i === 7) };
  const last = /^([A-Za-z]+|\d+)L$/.exec(text);
  if (last !== null) return { ...base, lastOfMonth: fieldValue(last[1] ?? '', DAY_OF_WEEK, text) };
  const nth = /^([A-Za-z]+|\d+)#(\d+)$/.exec(text);
  if (nth !== null) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new CronFailure(`in "${text}", the occurrence after "#" must be 1-5`);
    return { ...base, nth: { weekday: fieldValue(nth[1] ?? '', DAY_OF_WEEK, text), n } };
  }
  if (text.includes('#'))
    throw new CronFailure(`"${text}": "#" takes one day and one occurrence (e.g. 3#2), not a list`);
  // No day name contains an L, so any L left is misplaced.
  if (text.includes('L')) {
    throw new CronFailure(`"${text}": in day-of-week, L and nL stand alone`);
  }
  return { ...base, weekdays: parseNumericField(text, DAY_OF_WEEK) };
}

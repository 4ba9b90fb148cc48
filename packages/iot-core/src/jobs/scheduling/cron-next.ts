import { CRON_FIRST_YEAR, CRON_LAST_YEAR, type AwsCron, type DaySpec } from './aws-cron.js';

const MINUTE_MS = 60_000;

/**
 * The first instant strictly after `afterMs` at which the cron fires (a whole UTC minute), or null when it never
 * fires again (its years are past, or its days never occur, e.g. `0 0 30 2 ? *`). Walks field by field —
 * year, month, day, hour, minute — skipping whole units that cannot match, so it costs a few hundred steps at
 * most rather than one per minute.
 */
export function nextCronFire(cron: AwsCron, afterMs: number): number | null {
  const start = new Date((Math.floor(afterMs / MINUTE_MS) + 1) * MINUTE_MS);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  if (year < CRON_FIRST_YEAR) [year, month, day, hour, minute] = [CRON_FIRST_YEAR, 1, 1, 0, 0];

  for (;;) {
    if (year > CRON_LAST_YEAR) return null;
    if (cron.years[year - CRON_FIRST_YEAR] !== true) {
      [year, month, day, hour, minute] = [year + 1, 1, 1, 0, 0];
      continue;
    }
    if (month > 12 || cron.months[month] !== true) {
      const nextMonth = firstAtOrAfter(cron.months, month + 1, 12);
      if (nextMonth === undefined) [year, month, day, hour, minute] = [year + 1, 1, 1, 0, 0];
      else [month, day, hour, minute] = [nextMonth, 1, 0, 0];
      continue;
    }
    const nextDay = firstAtOrAfter(matchingDays(cron.days, year, month), day, daysInMonth(year, month));
    if (nextDay === undefined) {
      [month, day, hour, minute] = [month + 1, 1, 0, 0];
      continue;
    }
    if (nextDay > day) [day, hour, minute] = [nextDay, 0, 0];
    const nextHour = firstAtOrAfter(cron.hours, hour, 23);
    if (nextHour === undefined) {
      [day, hour, minute] = [day + 1, 0, 0];
      if (day > daysInMonth(year, month)) [month, day] = [month + 1, 1];
      continue;
    }
    if (nextHour > hour) [hour, minute] = [nextHour, 0];
    const nextMinute = firstAtOrAfter(cron.minutes, minute, 59);
    if (nextMinute === undefined) {
      [hour, minute] = [hour + 1, 0];
      if (hour > 23) {
        [day, hour] = [day + 1, 0];
        if (day > daysInMonth(year, month)) [month, day] = [month + 1, 1];
      }
      continue;
    }
    return Date.UTC(year, month - 1, day, hour, nextMinute);
  }
}

function firstAtOrAfter(allowed: readonly boolean[], from: number, max: number): number | undefined {
  for (let v = from; v <= max; v++) if (allowed[v] === true) return v;
  return undefined;
}

export const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** AWS numbering: 1 = Sunday … 7 = Saturday. */
export const weekdayOf = (year: number, month: number, day: number): number =>
  new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;

const isWorkday = (weekday: number): boolean => weekday >= 2 && weekday <= 6;

/** The days (1-31) of this month on which the day fields match. */
function matchingDays(spec: DaySpec, year: number, month: number): boolean[] {
  const length = daysInMonth(year, month);
  const days = new Array<boolean>(32).fill(false);
  if (spec.kind === 'dayOfMonth') {
    if (spec.last) days[length] = true;
    else if (spec.lastWeekday) {
      let d = length;
      while (!isWorkday(weekdayOf(year, month, d))) d--;
      days[d] = true;
    } else if (spec.nearestWeekdayTo !== undefined) {
      const d = nearestWorkday(year, month, spec.nearestWeekdayTo, length);
      if (d !== undefined) days[d] = true;
    } else {
      for (let d = 1; d <= length; d++) days[d] = spec.days[d] === true;
    }
    return days;
  }
  const firstWeekday = weekdayOf(year, month, 1);
  for (let d = 1; d <= length; d++) {
    const weekday = ((firstWeekday - 1 + d - 1) % 7) + 1;
    if (spec.lastOfMonth !== undefined) days[d] = weekday === spec.lastOfMonth && d + 7 > length;
    else if (spec.nth !== undefined) days[d] = weekday === spec.nth.weekday && Math.ceil(d / 7) === spec.nth.n;
    else days[d] = spec.weekdays[weekday] === true;
  }
  return days;
}

/** `nW`: day n if a weekday, else the nearest weekday in the same month (Saturday → Friday, Sunday → Monday). */
function nearestWorkday(year: number, month: number, n: number, length: number): number | undefined {
  if (n > length) return undefined;
  const weekday = weekdayOf(year, month, n);
  if (isWorkday(weekday)) return n;
  if (weekday === 7) return n > 1 ? n - 1 : n + 2;
  return n < length ? n + 1 : n - 2;
}

import { describe, expect, it } from 'vitest';
import { nextCronFire, parseAwsCron, type AwsCron } from '../src/jobs/scheduling/index.js';
import { prng, Rand } from '../src/testing/seeded-random.js';

const MINUTE = 60_000;
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString().slice(0, 16));

function cron(expression: string): AwsCron {
  const r = parseAwsCron(expression);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function fires(expression: string, fromIso: string, count: number): (string | null)[] {
  const c = cron(expression);
  const out: (string | null)[] = [];
  let t = Date.parse(`${fromIso}Z`);
  for (let i = 0; i < count; i++) {
    const next = nextCronFire(c, t);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

/** Valid expressions: the next fires after an instant (2026-01-01 is a Thursday). */
const VALID: readonly (readonly [string, string, readonly (string | null)[]])[] = [
  // EventBridge's documented examples.
  ['cron(0 10 * * ? *)', '2026-01-01T00:00', ['2026-01-01T10:00', '2026-01-02T10:00', '2026-01-03T10:00']],
  ['cron(15 12 * * ? *)', '2026-01-01T12:15', ['2026-01-02T12:15', '2026-01-03T12:15']],
  ['cron(0 18 ? * MON-FRI *)', '2026-01-01T00:00', ['2026-01-01T18:00', '2026-01-02T18:00', '2026-01-05T18:00']],
  ['cron(0 8 1 * ? *)', '2026-01-01T08:00', ['2026-02-01T08:00', '2026-03-01T08:00']],
  ['cron(0/15 * * * ? *)', '2026-01-01T00:50', ['2026-01-01T01:00', '2026-01-01T01:15']],
  ['cron(0/10 * ? * MON-FRI *)', '2026-01-02T23:55', ['2026-01-05T00:00', '2026-01-05T00:10']],
  ['cron(0/5 8-17 ? * MON-FRI *)', '2026-01-01T17:55', ['2026-01-02T08:00', '2026-01-02T08:05']],
  ['cron(0 9 ? * 2#1 *)', '2026-01-01T00:00', ['2026-01-05T09:00', '2026-02-02T09:00', '2026-03-02T09:00']],
  // A maintenance window every Sunday at midnight, with and without cron(...).
  ['cron(0 0 ? * SUN *)', '2026-01-01T00:00', ['2026-01-04T00:00', '2026-01-11T00:00']],
  ['0 0 ? * SUN *', '2026-01-01T00:00', ['2026-01-04T00:00', '2026-01-11T00:00']],
  ['  cron( 0 0 ? * 1 * )  ', '2026-01-01T00:00', ['2026-01-04T00:00']],
  ['0 0 ? * sun *', '2026-01-01T00:00', ['2026-01-04T00:00']],
  // Lists, ranges, steps, names.
  [
    '5,35 1-2 * * ? *',
    '2026-01-01T01:06',
    ['2026-01-01T01:35', '2026-01-01T02:05', '2026-01-01T02:35', '2026-01-02T01:05'],
  ],
  [
    '10-50/20 0 * * ? *',
    '2026-01-01T00:00',
    ['2026-01-01T00:10', '2026-01-01T00:30', '2026-01-01T00:50', '2026-01-02T00:10'],
  ],
  ['*/30 */12 * * ? *', '2026-01-01T00:00', ['2026-01-01T00:30', '2026-01-01T12:00', '2026-01-01T12:30']],
  ['0 0 1 JAN,jul ? *', '2026-01-01T00:00', ['2026-07-01T00:00', '2027-01-01T00:00']],
  ['0 0 1 MAR-MAY ? *', '2026-05-01T00:00', ['2027-03-01T00:00']],
  ['0 0 1 1 ? 2027/2', '2026-01-01T00:00', ['2027-01-01T00:00', '2029-01-01T00:00', '2031-01-01T00:00']],
  ['0 0 ? * 6-7 *', '2026-01-01T00:00', ['2026-01-02T00:00', '2026-01-03T00:00', '2026-01-09T00:00']],
  // L, LW, nW, nL, #.
  ['0 0 L * ? *', '2026-01-01T00:00', ['2026-01-31T00:00', '2026-02-28T00:00', '2026-03-31T00:00']],
  ['0 0 L 2 ? 2028', '2026-01-01T00:00', ['2028-02-29T00:00', null]],
  ['0 0 LW * ? *', '2026-01-01T00:00', ['2026-01-30T00:00', '2026-02-27T00:00', '2026-03-31T00:00']],
  ['0 0 1W * ? *', '2026-01-01T00:00', ['2026-02-02T00:00', '2026-03-02T00:00', '2026-04-01T00:00']],
  ['0 0 1W 8 ? 2026', '2026-01-01T00:00', ['2026-08-03T00:00', null]],
  ['0 0 31W 5 ? 2026', '2026-01-01T00:00', ['2026-05-29T00:00', null]],
  ['0 0 15W * ? *', '2026-02-01T00:00', ['2026-02-16T00:00', '2026-03-16T00:00', '2026-04-15T00:00']],
  ['0 0 31W * ? *', '2026-01-01T00:00', ['2026-01-30T00:00', '2026-03-31T00:00', '2026-05-29T00:00']],
  ['0 0 ? * L *', '2026-01-01T00:00', ['2026-01-03T00:00', '2026-01-10T00:00']],
  ['0 0 ? * 6L *', '2026-01-01T00:00', ['2026-01-30T00:00', '2026-02-27T00:00', '2026-03-27T00:00']],
  ['0 0 ? * FRIL *', '2026-01-01T00:00', ['2026-01-30T00:00']],
  ['0 0 ? * 5#5 *', '2026-01-01T00:00', ['2026-01-29T00:00', '2026-04-30T00:00', '2026-07-30T00:00']],
  ['0 0 ? * MON#2 *', '2026-01-01T00:00', ['2026-01-12T00:00', '2026-02-09T00:00']],
  // Never again, and the end of AWS's years.
  ['0 0 30 2 ? *', '2026-01-01T00:00', [null]],
  ['0 0 1 1 ? 2020', '2026-01-01T00:00', [null]],
  ['59 23 31 12 ? 2199', '2199-12-31T23:58', ['2199-12-31T23:59', null]],
  ['0 0 1 1 ? *', '1960-06-01T00:00', ['1970-01-01T00:00', '1971-01-01T00:00']],
];

const bad = (expression: string, detail: string): readonly [string, string] => [
  expression,
  `Invalid cron expression "${expression}": ${detail}`,
];

const INVALID: readonly (readonly [string, string])[] = [
  bad('', 'a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found 0'),
  bad('cron()', 'a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found 0'),
  bad('0 0 * * ?', 'a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found 5'),
  bad('0 0 0 * * ? *', 'a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found 7'),
  bad('cron(0 0 * * ? *', 'missing ")" at the end of cron(...)'),
  bad('rate(5 minutes)', 'rate() expressions are not supported here; use cron(...)'),
  bad('0 0 * * * *', 'day-of-month and day-of-week cannot both be set: use "?" in one of them'),
  bad('0 0 1 * MON *', 'day-of-month and day-of-week cannot both be set: use "?" in one of them'),
  bad('0 0 ? * ? *', 'day-of-month and day-of-week cannot both be "?": give a value or * in one of them'),
  bad('60 0 * * ? *', 'minutes value 60 is outside 0-59'),
  bad('0 24 * * ? *', 'hours value 24 is outside 0-23'),
  bad('0 0 32 * ? *', 'day-of-month value 32 is outside 1-31'),
  bad('0 0 0 * ? *', 'day-of-month value 0 is outside 1-31'),
  bad('0 0 * 13 ? *', 'month value 13 is outside 1-12'),
  bad('0 0 ? * 8 *', 'day-of-week value 8 is outside 1-7'),
  bad('0 0 * * ? 1969', 'year value 1969 is outside 1970-2199'),
  bad('0 0 * * ? 2200', 'year value 2200 is outside 1970-2199'),
  bad('? 0 * * ? *', '"?" is allowed only in day-of-month and day-of-week, not in minutes'),
  bad('0 0 * * ? ?', '"?" is allowed only in day-of-month and day-of-week, not in year'),
  bad('x 0 * * ? *', '"x" in the minutes item "x" is not a number'),
  bad(
    '0 0 * FOO ? *',
    '"FOO" in the month item "FOO" is not a number or one of JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC',
  ),
  bad(
    '0 0 ? * MON-FUN *',
    '"FUN" in the day-of-week item "MON-FUN" is not a number or one of SUN,MON,TUE,WED,THU,FRI,SAT',
  ),
  bad('0 0 ? * FRI-MON *', 'the day-of-week range "FRI-MON" runs backwards; wrap-around ranges are not supported'),
  bad('0 22-2 * * ? *', 'the hours range "22-2" runs backwards; wrap-around ranges are not supported'),
  bad('0 1-2-3 * * ? *', 'the hours item "1-2-3" is not a value or a range a-b'),
  bad('0/0 0 * * ? *', 'the step in the minutes item "0/0" must be a whole number of at least 1'),
  bad('0/x 0 * * ? *', 'the step in the minutes item "0/x" must be a whole number of at least 1'),
  bad('0/5/2 0 * * ? *', 'more than one "/" in the minutes item "0/5/2"'),
  bad('0 0 ? * 1/2 *', '"/" is not allowed in the day-of-week field'),
  bad('0,,5 0 * * ? *', 'empty item in the minutes field "0,,5"'),
  bad('0 0 L-3 * ? *', '"L-3": in day-of-month, L, LW and nW stand alone (no lists, ranges or L-n offsets)'),
  bad('0 0 1,L * ? *', '"1,L": in day-of-month, L, LW and nW stand alone (no lists, ranges or L-n offsets)'),
  bad('0 0 1-5W * ? *', '"1-5W": in day-of-month, L, LW and nW stand alone (no lists, ranges or L-n offsets)'),
  bad('0 0 32W * ? *', 'day-of-month value 32 is outside 1-31'),
  bad('0 0 ? * 2#6 *', 'in "2#6", the occurrence after "#" must be 1-5'),
  bad('0 0 ? * 2#0 *', 'in "2#0", the occurrence after "#" must be 1-5'),
  bad('0 0 ? * 9#1 *', 'day-of-week value 9 is outside 1-7'),
  bad('0 0 ? * 3#1,6#3 *', '"3#1,6#3": "#" takes one day and one occurrence (e.g. 3#2), not a list'),
  bad('0 0 ? * 1,L *', '"1,L": in day-of-week, L and nL stand alone'),
  bad('0 0 ? * 8L *', 'day-of-week value 8 is outside 1-7'),
  bad('0 0 L * L *', 'day-of-month and day-of-week cannot both be set: use "?" in one of them'),
];

describe('parseAwsCron and nextCronFire: documented forms', () => {
  it.each(VALID)('%s after %s', (expression, from, expected) => {
    expect(fires(expression, from, expected.length)).toEqual(expected);
  });

  it.each(INVALID)('refuses %j', (expression, message) => {
    const r = parseAwsCron(expression);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe(message);
  });

  it('fires strictly after the instant given, whatever its seconds', () => {
    const c = cron('* * * * ? *');
    const t = Date.UTC(2026, 0, 1, 10, 0);
    expect(nextCronFire(c, t - 1)).toBe(t);
    expect(nextCronFire(c, t)).toBe(t + MINUTE);
    expect(nextCronFire(c, t + 59_999)).toBe(t + MINUTE);
  });
});

// -------------------------------------------------------------------------------- brute-force reference

/** One field of a generated expression, kept as structure so the reference never reads the text. */
type Item = { from: number; to: number; step: number };
interface GenCron {
  text: string;
  minutes: Item[];
  hours: Item[];
  months: Item[];
  years: Item[];
  days:
    | { kind: 'dom'; items: Item[] }
    | { kind: 'dow'; items: Item[] }
    | { kind: 'L' | 'LW' }
    | { kind: 'W'; day: number }
    | { kind: 'nL'; weekday: number }
    | { kind: 'nth'; weekday: number; n: number };
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function genField(
  r: Rand,
  min: number,
  max: number,
  names?: readonly string[],
  allowStep = true,
): { text: string; items: Item[] } {
  const name = (v: number): string => (names !== undefined && r.chance(0.4) ? (names[v - min] as string) : String(v));
  const items: Item[] = [];
  const texts: string[] = [];
  const count = r.chance(0.75) ? 1 : r.int(2, 3);
  for (let i = 0; i < count; i++) {
    const shape = r.int(0, allowStep ? 5 : 2);
    const a = r.int(min, max);
    const b = r.int(a, Math.min(max, a + r.int(0, max - min)));
    const s = r.int(1, Math.max(1, Math.floor((max - min) / 2)));
    if (shape === 0 && count === 1) {
      items.push({ from: min, to: max, step: 1 });
      texts.push('*');
    } else if (shape <= 1) {
      items.push({ from: a, to: a, step: 1 });
      texts.push(name(a));
    } else if (shape === 2) {
      items.push({ from: a, to: b, step: 1 });
      texts.push(`${name(a)}-${name(b)}`);
    } else if (shape === 3) {
      items.push({ from: a, to: max, step: s });
      texts.push(`${a}/${s}`);
    } else if (shape === 4) {
      items.push({ from: min, to: max, step: s });
      texts.push(`*/${s}`);
    } else {
      items.push({ from: a, to: b, step: s });
      texts.push(`${a}-${b}/${s}`);
    }
  }
  return { text: texts.join(','), items };
}

function genCron(r: Rand, year: number): GenCron {
  // Mostly one minute an hour, so most expressions fire a few thousand times a year or less.
  const single = (v: number): { text: string; items: Item[] } => ({
    text: String(v),
    items: [{ from: v, to: v, step: 1 }],
  });
  const minutes = r.chance(0.6) ? single(r.int(0, 59)) : genField(r, 0, 59);
  const hours = genField(r, 0, 23);
  const months = r.chance(0.5) ? { text: '*', items: [{ from: 1, to: 12, step: 1 }] } : genField(r, 1, 12, MONTH_NAMES);
  const years =
    r.chance(0.6) || year + 2 > 2199
      ? { text: '*', items: [{ from: 1970, to: 2199, step: 1 }] }
      : r.chance(0.5)
        ? { text: `${year - 1}-${year + 1}`, items: [{ from: year - 1, to: year + 1, step: 1 }] }
        : {
            text: `${year},${year + 2}`,
            items: [
              { from: year, to: year, step: 1 },
              { from: year + 2, to: year + 2, step: 1 },
            ],
          };
  let dom = '?';
  let dow = '?';
  let days: GenCron['days'];
  const shape = r.int(0, 9);
  if (shape <= 3) {
    const f = genField(r, 1, 31);
    dom = f.text;
    days = { kind: 'dom', items: f.items };
  } else if (shape <= 5) {
    const f = genField(r, 1, 7, DAY_NAMES, false);
    dow = f.text;
    days = { kind: 'dow', items: f.items };
  } else if (shape === 6) {
    const k = r.pick(['L', 'LW'] as const);
    dom = k;
    days = { kind: k };
  } else if (shape === 7) {
    const day = r.int(1, 31);
    dom = `${day}W`;
    days = { kind: 'W', day };
  } else if (shape === 8) {
    const weekday = r.int(1, 7);
    dow = `${r.chance(0.5) ? (DAY_NAMES[weekday - 1] as string) : weekday}L`;
    days = { kind: 'nL', weekday };
  } else {
    const weekday = r.int(1, 7);
    const n = r.int(1, 5);
    dow = `${weekday}#${n}`;
    days = { kind: 'nth', weekday, n };
  }
  const body = `${minutes.text} ${hours.text} ${dom} ${months.text} ${dow} ${years.text}`;
  return {
    text: r.chance(0.5) ? `cron(${body})` : body,
    minutes: minutes.items,
    hours: hours.items,
    months: months.items,
    years: years.items,
    days,
  };
}

const inItems = (items: readonly Item[], v: number): boolean =>
  items.some((i) => v >= i.from && v <= i.to && (v - i.from) % i.step === 0);

/** Whether the generated expression's day rule holds on one date: each rule stated directly, not by search. */
function dayHolds(days: GenCron['days'], y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  const length = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const weekday = date.getUTCDay() + 1;
  const workday = (day: number): boolean => {
    const w = new Date(Date.UTC(y, m - 1, day)).getUTCDay();
    return w !== 0 && w !== 6;
  };
  switch (days.kind) {
    case 'dom':
      return inItems(days.items, d);
    case 'dow':
      return inItems(days.items, weekday);
    case 'L':
      return d === length;
    case 'LW': {
      // A workday with no later workday in the month.
      if (!workday(d)) return false;
      for (let later = d + 1; later <= length; later++) if (workday(later)) return false;
      return true;
    }
    case 'W': {
      // The workday of this month closest to the given day (there is never a tie).
      if (days.day > length || !workday(d)) return false;
      for (let other = 1; other <= length; other++) {
        if (workday(other) && Math.abs(other - days.day) < Math.abs(d - days.day)) return false;
      }
      return true;
    }
    case 'nL':
      return weekday === days.weekday && d + 7 > length;
    case 'nth':
      return weekday === days.weekday && Math.floor((d - 1) / 7) + 1 === days.n;
  }
}

/** Every fire of the expression in [start, end) (whole days), testing every minute of the days whose date matches. */
function bruteForce(g: GenCron, start: number, end: number): number[] {
  const out: number[] = [];
  for (let day = start; day < end; day += 24 * 60 * MINUTE) {
    const date = new Date(day);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    if (!inItems(g.years, y) || !inItems(g.months, m) || !dayHolds(g.days, y, m, date.getUTCDate())) continue;
    for (let minute = 0; minute < 24 * 60; minute++) {
      if (inItems(g.hours, Math.floor(minute / 60)) && inItems(g.minutes, minute % 60)) out.push(day + minute * MINUTE);
    }
  }
  return out;
}

/** The first element of a sorted list greater than t. */
function firstAfter(sorted: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) > t) hi = mid;
    else lo = mid + 1;
  }
  return sorted[lo];
}

describe('nextCronFire against a minute-by-minute reference over a year', () => {
  it('agrees on 150 random expressions (seeded), at every fire and at random instants', () => {
    const r = new Rand(prng(0xc0ffee));
    let checkedFires = 0;
    let neverFired = 0;
    for (let i = 0; i < 150; i++) {
      const year = i < 5 ? 2199 : r.int(1971, 2197);
      const g = genCron(r, year);
      const parsed = parseAwsCron(g.text);
      if (!parsed.ok) throw new Error(`${g.text}: ${parsed.error.message}`);
      const start = Date.UTC(year, 0, 1);
      const end = Date.UTC(year + 1, 0, 1);
      const expected = bruteForce(g, start, end);
      if (expected.length === 0) neverFired++;
      // Walk the whole chain of fires when it is not too long.
      if (expected.length <= 6000) {
        let t = start - 1;
        for (const want of expected) {
          const got = nextCronFire(parsed.value, t);
          if (got !== want)
            throw new Error(`${g.text}: after ${new Date(t).toISOString()} expected ${iso(want)}, got ${iso(got)}`);
          t = got;
          checkedFires++;
        }
      }
      // And from random instants (not on minute boundaries).
      for (let probe = 0; probe < 300; probe++) {
        const t = start - 1 + Math.floor(r.next() * (end - start));
        const want = firstAfter(expected, t);
        const got = nextCronFire(parsed.value, t);
        if (want !== undefined) expect(got, `${g.text} after ${new Date(t).toISOString()}`).toBe(want);
        else expect(got === null || got >= end, `${g.text} after ${new Date(t).toISOString()}: ${iso(got)}`).toBe(true);
      }
    }
    expect(checkedFires).toBeGreaterThan(10_000);
    expect(neverFired).toBeLessThan(60);
  });

  it("answers null after AWS's last year, and from before 1970 starts at 1970", () => {
    expect(nextCronFire(cron('* * * * ? *'), Date.UTC(2199, 11, 31, 23, 59))).toBeNull();
    expect(nextCronFire(cron('0 0 1 1 ? 1970'), -1e12)).toBe(0);
  });
});

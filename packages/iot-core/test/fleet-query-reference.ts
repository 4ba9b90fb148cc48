/**
 * For the fleet query property test: random queries built as this file's own tree and
 * rendered to query text (with the syntax's freedoms: implicit AND, NOT or -, optional parentheses, spaces
 * around ":" and comparisons, quoting, escapes), and a reference evaluator that answers the tree directly.
 * It shares no code with src/registry/search: only the rules of docs/iot-core-search-and-scheduling.md.
 */
import type { IndexedThing } from '../src/registry/search/index.js';
import { anyValues, FIELDS, GROUPS, isObject, VERSIONS, type GenField } from './fleet-query-fleet.js';
import type { Rand } from '../src/testing/seeded-random.js';

// ------------------------------------------------------------------------------------ the query tree

/** Literal text, or MANY / ONE (marked with a NUL no sample contains). */
type WildToken = string;
const MANY = '\u0000*';
const ONE = '\u0000?';

type Leaf =
  | { readonly t: 'eq'; readonly text: string; readonly written: string }
  | { readonly t: 'wild'; readonly tokens: readonly WildToken[]; readonly written: string; readonly leading: boolean }
  | { readonly t: 'exists' }
  | {
      readonly t: 'range';
      readonly numeric: boolean;
      readonly lo?: { readonly v: string; readonly incl: boolean };
      readonly hi?: { readonly v: string; readonly incl: boolean };
      readonly written: string;
    };

export type Gen =
  | { readonly k: 'and'; readonly items: readonly Gen[]; readonly implicit: boolean }
  | { readonly k: 'or'; readonly items: readonly Gen[] }
  | { readonly k: 'not'; readonly item: Gen; readonly dash: boolean }
  | { readonly k: 'paren'; readonly item: Gen }
  /** field undefined: a bare term (or bare `*` with an exists leaf), or a value inside a field group. */
  | { readonly k: 'leaf'; readonly field: GenField | undefined; readonly leaf: Leaf; readonly spaced: boolean }
  | { readonly k: 'group'; readonly field: GenField; readonly body: Gen };

// --------------------------------------------------------------------------------- the reference

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const asNumber = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v) ? Number(v) : undefined;

/** Wildcard match over code points, by memoized recursion (the implementation uses a regular expression). */
function wildMatch(tokens: readonly WildToken[], text: string): boolean {
  const pattern: string[] = [];
  for (const tok of tokens) {
    if (tok === MANY || tok === ONE) pattern.push(tok);
    else pattern.push(...Array.from(tok.toLowerCase()));
  }
  const s = Array.from(text.toLowerCase());
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * 10_000 + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === pattern.length) r = j === s.length;
    else if (pattern[i] === MANY) r = go(i + 1, j) || (j < s.length && go(i, j + 1));
    else if (pattern[i] === ONE) r = j < s.length && go(i + 1, j + 1);
    else r = j < s.length && s[j] === pattern[i] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function leafHolds(leaf: Leaf, values: unknown[]): boolean {
  switch (leaf.t) {
    case 'exists': {
      const hasScalar = (v: unknown): boolean =>
        isObject(v)
          ? Object.values(v).some(hasScalar)
          : Array.isArray(v)
            ? v.some(hasScalar)
            : v !== null && v !== undefined;
      return values.some(hasScalar);
    }
    case 'eq':
      return values.some((v) => {
        if (typeof v === 'string') return v.toLowerCase() === leaf.text.toLowerCase();
        if (typeof v === 'number') return NUMBER.test(leaf.text) && Number(leaf.text) === v;
        if (typeof v === 'boolean') return leaf.text.toLowerCase() === String(v);
        return false;
      });
    case 'wild':
      return values.some((v) => typeof v === 'string' && wildMatch(leaf.tokens, v));
    case 'range':
      return values.some((v) => {
        let x: number | string | undefined;
        let lo: number | string | undefined;
        let hi: number | string | undefined;
        if (leaf.numeric) {
          x = asNumber(v);
          lo = leaf.lo === undefined ? undefined : Number(leaf.lo.v);
          hi = leaf.hi === undefined ? undefined : Number(leaf.hi.v);
        } else {
          x = typeof v === 'string' ? v.toLowerCase() : undefined;
          lo = leaf.lo?.v.toLowerCase();
          hi = leaf.hi?.v.toLowerCase();
        }
        if (x === undefined) return false;
        const aboveLo = lo === undefined || (leaf.lo?.incl === true ? x >= lo : x > lo);
        const belowHi = hi === undefined || (leaf.hi?.incl === true ? x <= hi : x < hi);
        return aboveLo && belowHi;
      });
  }
}

export function reference(gen: Gen, thing: IndexedThing, groupField?: GenField): boolean {
  switch (gen.k) {
    case 'and':
      return gen.items.every((g) => reference(g, thing, groupField));
    case 'or':
      return gen.items.some((g) => reference(g, thing, groupField));
    case 'not':
      return !reference(gen.item, thing, groupField);
    case 'paren':
      return reference(gen.item, thing, groupField);
    case 'group':
      return reference(gen.body, thing, gen.field);
    case 'leaf': {
      const field = gen.field ?? groupField;
      if (field === undefined && gen.leaf.t === 'exists') return true;
      return leafHolds(gen.leaf, field === undefined ? anyValues(thing) : field.values(thing));
    }
  }
}

// ------------------------------------------------------------------------------- generate and render

export function render(gen: Gen): string {
  switch (gen.k) {
    case 'and':
      return gen.items.map(render).join(gen.implicit ? ' ' : ' AND ');
    case 'or':
      return gen.items.map(render).join(' OR ');
    case 'not':
      return gen.dash ? `-${render(gen.item)}` : `NOT ${render(gen.item)}`;
    case 'paren':
      return `(${render(gen.item)})`;
    case 'group':
      return `${gen.field.written}:(${render(gen.body)})`;
    case 'leaf': {
      const value = gen.leaf.t === 'exists' ? '*' : gen.leaf.written;
      if (gen.field === undefined) return value;
      if (gen.leaf.t === 'range' && /^[<>]/.test(value)) return `${gen.field.written}${gen.spaced ? ' ' : ''}${value}`;
      return `${gen.field.written}${gen.spaced ? ' : ' : ':'}${value}`;
    }
  }
}

/** Escapes a value for an unquoted word (the implementation's escaping is separate code in query-fields.ts). */
function escapeValue(text: string): string {
  let out = '';
  for (const c of text) out += /[\s()[\]{}:"<>\\*?`@#%/';,~^]/.test(c) ? `\\${c}` : c;
  return out.startsWith('-') ? `\\${out}` : out;
}
const quoteValue = (text: string): string => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const KEYWORD = /^(AND|OR|NOT|TO)$/;

export class QueryGenerator {
  private terms = 0;
  private leading = 0;

  constructor(private readonly rand: Rand) {}

  /** A random query within AWS's limits (at most 12 terms, one leading wildcard, 100 characters if so). */
  query(): { gen: Gen; text: string } {
    for (;;) {
      this.terms = 0;
      this.leading = 0;
      const gen = this.expr(0, undefined);
      const text = render(gen);
      if (this.terms <= 12 && this.leading <= 1 && (this.leading === 0 || text.length <= 100)) return { gen, text };
    }
  }

  private expr(depth: number, group: GenField | undefined): Gen {
    if (depth >= 3 || this.rand.chance(0.35)) return this.unary(depth, group);
    return this.rand.chance(0.5) ? this.and(depth, group) : this.or(depth, group);
  }

  private and(depth: number, group: GenField | undefined): Gen {
    const r = this.rand;
    const items = Array.from({ length: r.int(2, 3) }, (): Gen => {
      if (depth < 2 && r.chance(0.15)) return this.and(depth + 1, group); // bare AND in AND: the same as flattened
      if (depth < 2 && r.chance(0.15)) return { k: 'paren', item: this.or(depth + 1, group) }; // OR in AND needs ()
      return this.unary(depth + 1, group);
    });
    return { k: 'and', items, implicit: r.chance(0.4) };
  }

  private or(depth: number, group: GenField | undefined): Gen {
    const r = this.rand;
    const items = Array.from({ length: r.int(2, 3) }, (): Gen => {
      if (depth < 2 && r.chance(0.25)) return this.and(depth + 1, group); // bare AND in OR: precedence decides
      if (depth < 2 && r.chance(0.1)) return this.or(depth + 1, group);
      return this.unary(depth + 1, group);
    });
    return { k: 'or', items };
  }

  private unary(depth: number, group: GenField | undefined): Gen {
    const r = this.rand;
    if (r.chance(0.2)) {
      const item = this.primary(depth, group);
      // "--x" would read as NOT of the word "-x": a dash never directly precedes another dash.
      const dash = r.chance(0.4) && !(item.k === 'not' && item.dash);
      return { k: 'not', item, dash };
    }
    return this.primary(depth, group);
  }

  private primary(depth: number, group: GenField | undefined): Gen {
    const r = this.rand;
    if (depth < 3 && r.chance(0.15)) {
      const inner = this.expr(depth + 1, group);
      return r.chance(0.3) && inner.k === 'not' ? inner : { k: 'paren', item: inner };
    }
    if (depth < 3 && r.chance(0.15)) return this.unary(depth + 1, group);
    if (group === undefined && depth < 3 && r.chance(0.08)) {
      const field = this.stringField();
      return { k: 'group', field, body: this.expr(depth + 1, field) };
    }
    if (group !== undefined) return { k: 'leaf', field: undefined, leaf: this.leaf(group), spaced: false };
    if (r.chance(0.1)) {
      this.terms++;
      const sample = r.pick([...VERSIONS, ...GROUPS, 'abc', 'eco', 'rpi4', 'Berlin', '50']);
      return r.chance(0.2)
        ? { k: 'leaf', field: undefined, leaf: { t: 'exists' }, spaced: false }
        : { k: 'leaf', field: undefined, leaf: this.eqOrWild(sample), spaced: false };
    }
    const field = r.pick(FIELDS);
    return { k: 'leaf', field, leaf: this.leaf(field), spaced: r.chance(0.15) };
  }

  private stringField(): GenField {
    return this.rand.pick(FIELDS.filter((f) => f.kind === 'string'));
  }

  private leaf(field: GenField): Leaf {
    const r = this.rand;
    this.terms++;
    if (r.chance(0.12)) return { t: 'exists' };
    if (field.kind === 'boolean') {
      const text = r.pick(field.samples);
      return { t: 'eq', text, written: text };
    }
    if (
      field.kind === 'timestamp' ||
      (field.kind === 'number' && r.chance(0.7)) ||
      (field.kind === 'string' && r.chance(0.15))
    ) {
      if (r.chance(0.7) || field.kind === 'string') return this.numericRange();
      const n = r.pick(field.samples);
      return { t: 'eq', text: n, written: n };
    }
    if (r.chance(0.2)) return this.stringRange(field);
    return this.eqOrWild(r.pick(field.samples));
  }

  private eqOrWild(sample: string): Leaf {
    const r = this.rand;
    let text = sample;
    if (r.chance(0.3)) text = r.chance(0.5) ? text.toUpperCase() : text.toLowerCase();
    if (r.chance(0.35) && text.length > 1) {
      const chars = Array.from(text).slice(0, r.int(1, Array.from(text).length));
      const tokens: WildToken[] = [];
      if (r.chance(0.25)) {
        tokens.push(r.chance(0.5) ? MANY : ONE);
        chars.shift();
      }
      for (const c of chars) tokens.push(r.chance(0.15) ? ONE : c);
      if (r.chance(0.7)) tokens.push(MANY);
      const normalized = normalize(tokens);
      if (normalized.every((t) => t !== MANY && t !== ONE)) return this.eq(text);
      const leading = normalized[0] === MANY || normalized[0] === ONE;
      if (leading) this.leading++;
      const written = normalized.map((t) => (t === MANY ? '*' : t === ONE ? '?' : escapeValue(t))).join('');
      // A lone * is the existence test, so a pattern of one * is written ** (same meaning for strings).
      return { t: 'wild', tokens: normalized, written: written === '*' ? '**' : written, leading };
    }
    return this.eq(text);
  }

  private eq(text: string): Leaf {
    const plain = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(text) && !KEYWORD.test(text);
    const written =
      plain && this.rand.chance(0.8)
        ? text
        : text === '' || this.rand.chance(0.5)
          ? quoteValue(text)
          : escapeValue(text);
    return { t: 'eq', text, written: KEYWORD.test(written) ? quoteValue(text) : written };
  }

  private numericRange(): Leaf {
    const r = this.rand;
    const bound = (): string =>
      r.pick([
        '0',
        '1',
        '10',
        '20',
        '50',
        '50.5',
        '60',
        '61',
        '75',
        '99',
        '100',
        '-3',
        '1700000000000',
        '1700000500000',
      ]);
    let [a, b] = [bound(), bound()];
    if (Number(a) > Number(b)) [a, b] = [b, a];
    if (r.chance(0.4)) {
      const op = r.pick(['<', '<=', '>', '>=']);
      const incl = op.endsWith('=');
      const spaced = r.chance(0.3) ? ' ' : '';
      return op.startsWith('<')
        ? { t: 'range', numeric: true, hi: { v: a, incl }, written: `${op}${spaced}${a}` }
        : { t: 'range', numeric: true, lo: { v: a, incl }, written: `${op}${spaced}${a}` };
    }
    const loIncl = r.chance(0.5);
    const hiIncl = r.chance(0.5);
    const openLo = r.chance(0.1);
    const openHi = !openLo && r.chance(0.1);
    return {
      t: 'range',
      numeric: true,
      ...(openLo ? {} : { lo: { v: a, incl: loIncl } }),
      ...(openHi ? {} : { hi: { v: b, incl: hiIncl } }),
      written: `${loIncl ? '[' : '{'}${openLo ? '*' : a} TO ${openHi ? '*' : b}${hiIncl ? ']' : '}'}`,
    };
  }

  private stringRange(field: GenField): Leaf {
    const r = this.rand;
    let [a, b] = [r.pick(field.samples), r.pick(field.samples)].map((s) => (r.chance(0.3) ? s.toUpperCase() : s)) as [
      string,
      string,
    ];
    if (a.toLowerCase() > b.toLowerCase()) [a, b] = [b, a];
    const bound = (s: string): string =>
      !NUMBER.test(s) && /^[A-Za-z_][A-Za-z0-9_.]*$/.test(s) && !KEYWORD.test(s) && r.chance(0.3) ? s : quoteValue(s);
    const loIncl = r.chance(0.5);
    const hiIncl = r.chance(0.5);
    if (r.chance(0.3)) {
      const op = r.pick(['<', '<=', '>', '>=']);
      const incl = op.endsWith('=');
      return op.startsWith('<')
        ? { t: 'range', numeric: false, hi: { v: a, incl }, written: `${op}${quoteValue(a)}` }
        : { t: 'range', numeric: false, lo: { v: a, incl }, written: `${op}${quoteValue(a)}` };
    }
    return {
      t: 'range',
      numeric: false,
      lo: { v: a, incl: loIncl },
      hi: { v: b, incl: hiIncl },
      written: `${loIncl ? '[' : '{'}${bound(a)} TO ${bound(b)}${hiIncl ? ']' : '}'}`,
    };
  }
}

/** Joins adjacent text tokens. */
function normalize(tokens: readonly WildToken[]): WildToken[] {
  const out: WildToken[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (t === '') continue;
    if (t !== MANY && t !== ONE && last !== undefined && last !== MANY && last !== ONE) out[out.length - 1] = last + t;
    else out.push(t);
  }
  return out;
}

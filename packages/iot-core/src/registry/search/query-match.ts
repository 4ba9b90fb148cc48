import { computeShadowDelta, isPlainObject } from '@otafleet/protocol';
import type { IndexedShadow, IndexedThing } from './indexed-thing.js';
import type { FieldRef, FleetQuery, ValuePattern, ValueRange } from './query-ast.js';
import { foldCase, isNumericLiteral, numericValue } from './query-values.js';

type Scalar = string | number | boolean;
/**
 * Whether some value the field holds in one thing passes `test` (values are scalars, and objects, which only
 * `field:*` looks into). A visitor rather than a list, so matching a thing allocates nothing.
 */
type Accessor = (thing: IndexedThing, test: (value: unknown) => boolean) => boolean;
export type ThingPredicate = (thing: IndexedThing) => boolean;

/**
 * Turns a query into a predicate: wildcards become regular expressions, values are case-folded and numbers
 * parsed once, so matching a thing does no parsing. Semantics (see docs/iot-core-search-and-scheduling.md):
 * - a term matches when any value of the field matches (arrays — thingGroupNames, shadow arrays — match by
 *   element); strings compare case-insensitively; a JSON number matches a numeric term of equal value; a
 *   boolean matches `true`/`false`; wildcards apply to strings only;
 * - `field:*` matches when the field holds at least one value (an object counts when some leaf under it does);
 * - a numeric range matches numbers and strings that are numeric literals (attributes are strings); a string
 *   range compares case-folded strings by UTF-16 code units and matches strings only;
 * - NOT is the complement: `NOT attributes.model:legacy` also matches things without that attribute;
 * - a term without a field matches thingName, thingTypeName, thingGroupNames, attribute values and every value
 *   in the classic and named shadows' reported and desired sections.
 */
export function compileFleetQuery(query: FleetQuery): ThingPredicate {
  switch (query.kind) {
    case 'all':
      return () => true;
    case 'and': {
      const operands = query.operands.map(compileFleetQuery);
      return (thing) => operands.every((p) => p(thing));
    }
    case 'or': {
      const operands = query.operands.map(compileFleetQuery);
      return (thing) => operands.some((p) => p(thing));
    }
    case 'not': {
      const operand = compileFleetQuery(query.operand);
      return (thing) => !operand(thing);
    }
    case 'term': {
      const matches = valueMatcher(query.value);
      const some = query.field === undefined ? someAnyField : accessor(query.field.ref);
      const test = (v: unknown): boolean => isScalar(v) && matches(v);
      return (thing) => some(thing, test);
    }
    case 'exists': {
      const some = accessor(query.field.ref);
      return (thing) => some(thing, hasLeaf);
    }
    case 'range': {
      const inRange = rangeMatcher(query.range);
      const some = accessor(query.field.ref);
      const test = (v: unknown): boolean => isScalar(v) && inRange(v);
      return (thing) => some(thing, test);
    }
  }
}

const compiled = new WeakMap<FleetQuery, ThingPredicate>();

/** Whether the thing matches; the compiled predicate is cached per query object. */
export function matchesFleetQuery(query: FleetQuery, thing: IndexedThing): boolean {
  let predicate = compiled.get(query);
  if (predicate === undefined) {
    predicate = compileFleetQuery(query);
    compiled.set(query, predicate);
  }
  return predicate(thing);
}

const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function hasLeaf(v: unknown): boolean {
  if (isScalar(v)) return true;
  if (Array.isArray(v)) return v.some(hasLeaf);
  if (isPlainObject(v)) return Object.values(v).some(hasLeaf);
  return false;
}

function valueMatcher(pattern: ValuePattern): (v: Scalar) => boolean {
  if (pattern.kind === 'wildcard') {
    const source = pattern.parts
      .map((p) => (p.kind === 'text' ? escapeRegExp(foldCase(p.text)) : p.kind === 'many' ? '[\\s\\S]*' : '[\\s\\S]'))
      .join('');
    const re = new RegExp(`^${source}$`, 'u');
    return (v) => typeof v === 'string' && re.test(foldCase(v));
  }
  const text = foldCase(pattern.text);
  const number = isNumericLiteral(pattern.text) ? Number(pattern.text) : undefined;
  const boolean = text === 'true' ? true : text === 'false' ? false : undefined;
  return (v) => {
    if (typeof v === 'string') return foldCase(v) === text;
    if (typeof v === 'number') return v === number;
    return v === boolean;
  };
}

function rangeMatcher(range: ValueRange): (v: Scalar) => boolean {
  if (range.type === 'number') {
    const { lower, upper } = range;
    return (v) => {
      const n = numericValue(v);
      if (n === undefined) return false;
      if (lower !== undefined && (lower.inclusive ? n < lower.value : n <= lower.value)) return false;
      return !(upper !== undefined && (upper.inclusive ? n > upper.value : n >= upper.value));
    };
  }
  const lower = range.lower === undefined ? undefined : { ...range.lower, value: foldCase(range.lower.value) };
  const upper = range.upper === undefined ? undefined : { ...range.upper, value: foldCase(range.upper.value) };
  return (v) => {
    if (typeof v !== 'string') return false;
    const s = foldCase(v);
    if (lower !== undefined && (lower.inclusive ? s < lower.value : s <= lower.value)) return false;
    return !(upper !== undefined && (upper.inclusive ? s > upper.value : s >= upper.value));
  };
}

/** Escapes what is special in a `u`-flag pattern outside a class (there, `\-` would be an error). */
const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

function accessor(ref: FieldRef): Accessor {
  switch (ref.kind) {
    case 'thingName':
      return (t, test) => test(t.thingName);
    case 'thingTypeName':
      return (t, test) => t.thingTypeName !== undefined && test(t.thingTypeName);
    case 'thingGroupNames':
      return (t, test) => t.thingGroupNames.some(test);
    case 'attribute': {
      const name = ref.name;
      return (t, test) => Object.hasOwn(t.attributes, name) && test(t.attributes[name]);
    }
    case 'shadowValue': {
      const { shadowName, section, path } = ref;
      return (t, test) => {
        const shadow = shadowOf(t, shadowName);
        return shadow !== undefined && someAtPath(shadow[section], path, 0, test);
      };
    }
    case 'shadowHasDelta': {
      const shadowName = ref.shadowName;
      return (t, test) => {
        const shadow = shadowOf(t, shadowName);
        return shadow !== undefined && test(hasDelta(shadow));
      };
    }
    case 'connectivity': {
      const key = ref.key;
      return (t, test) => {
        const value = t.connectivity?.[key];
        return value !== undefined && test(value);
      };
    }
  }
}

function shadowOf(thing: IndexedThing, shadowName: string | undefined): IndexedShadow | undefined {
  if (shadowName === undefined) return thing.shadow;
  const named = thing.namedShadows;
  return named !== undefined && Object.hasOwn(named, shadowName) ? named[shadowName] : undefined;
}

/** Values under `path`; arrays on the way (and at the end) are searched element by element, as Lucene flattens them. */
function someAtPath(node: unknown, path: readonly string[], i: number, test: (value: unknown) => boolean): boolean {
  if (Array.isArray(node)) return node.some((element) => someAtPath(element, path, i, test));
  if (i === path.length) return node !== undefined && node !== null && test(node);
  const key = path[i] as string;
  return isPlainObject(node) && Object.hasOwn(node, key) && someAtPath(node[key], path, i + 1, test);
}

function hasDelta(shadow: IndexedShadow): boolean {
  if (!isPlainObject(shadow.desired)) return false;
  const reported = isPlainObject(shadow.reported) ? shadow.reported : undefined;
  return Object.keys(computeShadowDelta(shadow.desired, reported)).length > 0;
}

/** What a term without a field searches: registry values and every value in every shadow. */
function someAnyField(thing: IndexedThing, test: (value: unknown) => boolean): boolean {
  if (test(thing.thingName) || thing.thingGroupNames.some(test) || Object.values(thing.attributes).some(test))
    return true;
  if (thing.thingTypeName !== undefined && test(thing.thingTypeName)) return true;
  const shadows = [thing.shadow, ...Object.values(thing.namedShadows ?? {})];
  return shadows.some((s) => s !== undefined && (someLeaf(s.reported, test) || someLeaf(s.desired, test)));
}

function someLeaf(node: unknown, test: (value: unknown) => boolean): boolean {
  if (isScalar(node)) return test(node);
  if (Array.isArray(node)) return node.some((v) => someLeaf(v, test));
  return isPlainObject(node) && Object.values(node).some((v) => someLeaf(v, test));
}

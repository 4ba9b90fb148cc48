/**
 * For the fleet query property test: a seeded random fleet of IndexedThings, and the fields queries are built from,
 * each with its own way of reading a thing's values (written apart from src/registry/search, from the rules in
 * docs/iot-core-search-and-scheduling.md).
 */
import type { IndexedThing } from '../src/registry/search/index.js';
import type { Rand } from '../src/testing/seeded-random.js';

// ---------------------------------------------------------------------------------------------- the fleet

const PREFIXES = ['pi', 'gw', 'cam', 'Sensor'];
const TYPES = ['rpi4', 'rpi5', 'RPi4'];
export const GROUPS = ['canary', 'prod', 'beta', 'eu-west', 'us:east', 'Lab 2'];
const ATTRIBUTE_VALUES: Readonly<Record<string, readonly string[]>> = {
  hw: ['rpi4', 'rpi5', 'RPI4', 'cm4', 'rpi4-b'],
  rev: ['1', '2', '10', '075', '75', '1.5', '-3', 'b'],
  site: ['abc', 'ABC', 'abd', 'x-1', 'lab@1', 'ops/east', 'zeta'],
  temperature: ['59', '60', '60.5', '61', '80', 'hot', ''],
  serial: ['abcd', 'abce', 'abcf', 'abcg', 'ABCE'],
};
export const VERSIONS = ['1.0.0', '1.1.0', '1.1.1', '2.0.0', '1.10.0'];
const TAGS = ['blue', 'Green', 'red', 'x y'];
const REASONS = ['CLIENT_INITIATED_DISCONNECT', 'CONNECTION_LOST', 'SERVER_INITIATED_DISCONNECT'];

export function generateFleet(rand: Rand, size: number): IndexedThing[] {
  const fleet: IndexedThing[] = [];
  for (let i = 0; i < size; i++) {
    const attributes: Record<string, string> = {};
    for (const name of rand.subset(Object.keys(ATTRIBUTE_VALUES), 0.45).slice(0, 3)) {
      attributes[name] = rand.pick(ATTRIBUTE_VALUES[name] ?? []);
    }
    const thing: {
      -readonly [K in keyof IndexedThing]: IndexedThing[K];
    } = {
      thingName: `${rand.pick(PREFIXES)}-${String(i).padStart(4, '0')}`,
      attributes,
      thingGroupNames: rand.subset(GROUPS, 0.3),
    };
    if (rand.chance(0.6)) thing.thingTypeName = rand.pick(TYPES);
    if (rand.chance(0.8)) thing.shadow = generateShadow(rand);
    if (rand.chance(0.3))
      thing.namedShadows = {
        cfg: {
          reported: { mode: rand.pick(['eco', 'ECO', 'full']) },
          ...(rand.chance(0.5) ? { desired: { mode: rand.pick(['eco', 'full']) } } : {}),
        },
      };
    if (rand.chance(0.75)) {
      const connected = rand.chance(0.5);
      thing.connectivity = {
        connected,
        ...(rand.chance(0.8) ? { timestamp: 1_700_000_000_000 + rand.int(0, 1000) * 1000 } : {}),
        ...(!connected && rand.chance(0.7) ? { disconnectReason: rand.pick(REASONS) } : {}),
      };
    }
    fleet.push(thing);
  }
  return fleet;
}

function generateShadow(rand: Rand): { reported?: unknown; desired?: unknown } {
  const reported: Record<string, unknown> = {};
  if (rand.chance(0.85)) reported.firmware = { version: rand.pick(VERSIONS) };
  if (rand.chance(0.7))
    reported.battery = rand.chance(0.8) ? rand.int(0, 100) + (rand.chance(0.2) ? 0.5 : 0) : String(rand.int(0, 100));
  if (rand.chance(0.5)) reported.tags = rand.subset(TAGS, 0.5);
  if (rand.chance(0.5)) reported.enabled = rand.chance(0.5);
  if (rand.chance(0.4)) reported.location = rand.pick([{ lat: 52.5, lon: 13.4 }, {}, null, { city: 'Berlin' }]);
  if (rand.chance(0.3)) reported.nics = [{ ip: `10.0.0.${rand.int(1, 4)}` }, { ip: `10.0.1.${rand.int(1, 4)}` }];
  const shadow: { reported?: unknown; desired?: unknown } = { reported };
  if (rand.chance(0.5)) shadow.desired = { firmware: { version: rand.pick(VERSIONS) } };
  return shadow;
}

// ------------------------------------------------------------------------------ fields and their values

type ValueKind = 'string' | 'number' | 'boolean' | 'timestamp';

export interface GenField {
  /** As written in a query (escaped). */
  readonly written: string;
  readonly kind: ValueKind;
  /** Sample values to build terms from (strings as they appear in data). */
  readonly samples: readonly string[];
  readonly values: (thing: IndexedThing) => unknown[];
}

const own = (o: unknown, key: string): unknown =>
  typeof o === 'object' && o !== null && !Array.isArray(o) && Object.prototype.hasOwnProperty.call(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined;

/** Values at a path: a worklist walk; arrays fan out, at any depth, as Lucene flattens them. */
function pathValues(root: unknown, path: readonly string[]): unknown[] {
  let frontier: unknown[] = [root];
  for (const key of path) {
    const next: unknown[] = [];
    const expand = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(expand);
      else {
        const child = own(v, key);
        if (child !== undefined) next.push(child);
      }
    };
    frontier.forEach(expand);
    frontier = next;
  }
  const out: unknown[] = [];
  const flat = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(flat);
    else if (v !== null && v !== undefined) out.push(v);
  };
  frontier.forEach(flat);
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Some desired key differs from reported (recursing where both sides are objects). */
function differs(desired: unknown, reported: unknown): boolean {
  if (!isObject(desired)) return false;
  return Object.keys(desired).some((key) => {
    const want = desired[key];
    const have = isObject(reported) ? own(reported, key) : undefined;
    if (have === undefined) return true;
    if (isObject(want) && isObject(have)) return differs(want, have);
    return !deepEqual(want, have);
  });
}

const shadowField = (
  written: string,
  section: 'reported' | 'desired',
  path: string[],
  kind: ValueKind,
  samples: readonly string[],
  named?: string,
): GenField => ({
  written,
  kind,
  samples,
  values: (t) => {
    const shadow =
      named === undefined
        ? t.shadow
        : t.namedShadows !== undefined && Object.prototype.hasOwnProperty.call(t.namedShadows, named)
          ? t.namedShadows[named]
          : undefined;
    return shadow === undefined ? [] : pathValues(shadow[section], path);
  },
});

export const FIELDS: readonly GenField[] = [
  {
    written: 'thingName',
    kind: 'string',
    samples: ['pi-0001', 'gw-0012', 'Sensor-0100', 'pi-0', 'cam-00'],
    values: (t) => [t.thingName],
  },
  {
    written: 'thingTypeName',
    kind: 'string',
    samples: TYPES,
    values: (t) => (t.thingTypeName === undefined ? [] : [t.thingTypeName]),
  },
  { written: 'thingGroupNames', kind: 'string', samples: GROUPS, values: (t) => [...t.thingGroupNames] },
  ...Object.entries(ATTRIBUTE_VALUES).map(([name, samples]): GenField => ({
    written: `attributes.${name}`,
    kind: 'string',
    samples,
    values: (t) => (Object.prototype.hasOwnProperty.call(t.attributes, name) ? [t.attributes[name]] : []),
  })),
  shadowField('shadow.reported.firmware.version', 'reported', ['firmware', 'version'], 'string', VERSIONS),
  shadowField('shadow.desired.firmware.version', 'desired', ['firmware', 'version'], 'string', VERSIONS),
  shadowField('shadow.reported.battery', 'reported', ['battery'], 'number', ['0', '20', '50', '50.5', '99', '100']),
  shadowField('shadow.reported.tags', 'reported', ['tags'], 'string', TAGS),
  shadowField('shadow.reported.enabled', 'reported', ['enabled'], 'boolean', ['true', 'false']),
  shadowField('shadow.reported.location', 'reported', ['location'], 'string', ['Berlin', '52.5']),
  shadowField('shadow.reported.nics.ip', 'reported', ['nics', 'ip'], 'string', ['10.0.0.1', '10.0.1.4', '10.0.0.9']),
  shadowField('shadow.name.cfg.reported.mode', 'reported', ['mode'], 'string', ['eco', 'full'], 'cfg'),
  {
    written: 'shadow.hasDelta',
    kind: 'boolean',
    samples: ['true', 'false'],
    values: (t) => (t.shadow === undefined ? [] : [differs(t.shadow.desired, t.shadow.reported)]),
  },
  {
    written: 'shadow.name.cfg.hasDelta',
    kind: 'boolean',
    samples: ['true', 'false'],
    values: (t) => {
      const cfg = t.namedShadows?.cfg;
      return cfg === undefined ? [] : [differs(cfg.desired, cfg.reported)];
    },
  },
  {
    written: 'connectivity.connected',
    kind: 'boolean',
    samples: ['true', 'false'],
    values: (t) => (t.connectivity === undefined ? [] : [t.connectivity.connected]),
  },
  {
    written: 'connectivity.timestamp',
    kind: 'timestamp',
    samples: ['1700000000000', '1700000500000', '1700001000000'],
    values: (t) => (t.connectivity?.timestamp === undefined ? [] : [t.connectivity.timestamp]),
  },
  {
    written: 'connectivity.disconnectReason',
    kind: 'string',
    samples: REASONS,
    values: (t) => (t.connectivity?.disconnectReason === undefined ? [] : [t.connectivity.disconnectReason]),
  },
];

/** What a term without a field searches: registry values and every shadow leaf. */
export function anyValues(t: IndexedThing): unknown[] {
  const leaves: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) Object.values(v).forEach(walk);
    else if (v !== null && v !== undefined) leaves.push(v);
  };
  for (const shadow of [t.shadow, ...Object.values(t.namedShadows ?? {})]) {
    walk(shadow?.reported);
    walk(shadow?.desired);
  }
  return [
    t.thingName,
    ...(t.thingTypeName === undefined ? [] : [t.thingTypeName]),
    ...t.thingGroupNames,
    ...Object.values(t.attributes),
    ...leaves,
  ];
}

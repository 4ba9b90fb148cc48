import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileFleetQuery,
  formatFleetQuery,
  parseFleetQuery,
  type IndexedThing,
} from '../src/registry/search/index.js';
import { generateFleet } from './fleet-query-fleet.js';
import { QueryGenerator, reference } from './fleet-query-reference.js';
import { prng, Rand } from '../src/testing/seeded-random.js';

const SEED = 20_260_301;
const FLEET_SIZE = 1500;
const QUERIES = 1500;

interface Run {
  /** Per query: its text and how many things the implementation matched. */
  readonly results: readonly { readonly text: string; readonly matched: number }[];
  readonly mismatches: readonly string[];
  readonly digest: string;
}

/** Generates the fleet and the queries from one seed and compares the implementation with the reference. */
function run(seed: number, fleetSize = FLEET_SIZE, queries = QUERIES): Run {
  const rand = new Rand(prng(seed));
  const fleet: IndexedThing[] = generateFleet(rand, fleetSize);
  const generator = new QueryGenerator(rand);
  const results: { text: string; matched: number }[] = [];
  const mismatches: string[] = [];
  const hash = createHash('sha256');
  for (let i = 0; i < queries; i++) {
    const { gen, text } = generator.query();
    const parsed = parseFleetQuery(text);
    if (!parsed.ok) {
      mismatches.push(`${text}: did not parse: ${parsed.error.message}`);
      continue;
    }
    const matches = compileFleetQuery(parsed.value);
    let matched = 0;
    for (const thing of fleet) {
      const got = matches(thing);
      if (got !== reference(gen, thing)) {
        if (mismatches.length < 20) {
          mismatches.push(`${text} (as ${formatFleetQuery(parsed.value)}) on ${JSON.stringify(thing)}: got ${got}`);
        }
      }
      if (got) matched++;
    }
    results.push({ text, matched });
    hash.update(`${text}\n${matched}\n`);
  }
  return { results, mismatches, digest: hash.digest('hex') };
}

describe('fleet query property: the implementation agrees with a brute-force reference', () => {
  let first: Run;
  beforeAll(() => {
    first = run(SEED);
  });

  it(`matches the reference on ${QUERIES} random queries × ${FLEET_SIZE} random things`, () => {
    expect(first.mismatches).toEqual([]);
    expect(first.results).toHaveLength(QUERIES);
  });

  it('generates queries that discriminate: most match some things but not all', () => {
    const partial = first.results.filter((r) => r.matched > 0 && r.matched < FLEET_SIZE).length;
    expect(partial / QUERIES).toBeGreaterThan(0.5);
    // The generator exercises the syntax: all of these forms occur.
    const texts = first.results.map((r) => r.text).join('\n');
    for (const form of [' AND ', ' OR ', 'NOT ', ' -', ' TO ', '>', '<', '*', '?', '"', '\\', ':(', ' : ', '{', '}']) {
      expect(texts).toContain(form);
    }
  });

  it('gives the same queries and the same answers for the same seed, and others for another seed', () => {
    const again = run(SEED, 300, 300);
    expect(run(SEED, 300, 300)).toEqual(again);
    expect(run(SEED + 1, 300, 300).digest).not.toBe(again.digest);
  });
});

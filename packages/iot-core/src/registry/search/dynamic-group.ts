import type { IndexedThing } from './indexed-thing.js';
import type { FleetQuery } from './query-ast.js';
import { matchesFleetQuery } from './query-match.js';

export type DynamicGroupDelta = 'enter' | 'leave' | 'stay-in' | 'stay-out';

/**
 * How a dynamic thing group's membership changes when a thing changes from `before` to `after` (undefined:
 * the thing did not exist / no longer exists). AWS evaluates only a thing's final state, so callers pass the
 * state before and after a whole update, not every intermediate one.
 */
export function dynamicGroupDelta(
  query: FleetQuery,
  before: IndexedThing | undefined,
  after: IndexedThing | undefined,
): DynamicGroupDelta {
  const wasIn = before !== undefined && matchesFleetQuery(query, before);
  const isIn = after !== undefined && matchesFleetQuery(query, after);
  if (wasIn) return isIn ? 'stay-in' : 'leave';
  return isIn ? 'enter' : 'stay-out';
}

/**
 * Fleet indexing's query language (AWS IoT SearchIndex, dynamic thing groups) over an in-memory view of a
 * thing. Pure: no I/O, no clock. The supported subset is written down in docs/iot-core-search-and-scheduling.md.
 */
export type { IndexedConnectivity, IndexedShadow, IndexedThing } from './indexed-thing.js';
export type {
  ConnectivityKey,
  FieldRef,
  FleetQuery,
  FleetQueryError,
  QueryField,
  RangeBound,
  ShadowSectionName,
  ValuePattern,
  ValueRange,
  WildcardPart,
} from './query-ast.js';
export {
  MAX_LEADING_WILDCARD_QUERY_LENGTH,
  MAX_LEADING_WILDCARD_TERMS,
  MAX_QUERY_TERMS,
  parseFleetQuery,
} from './query-parser.js';
export { compileFleetQuery, matchesFleetQuery, type ThingPredicate } from './query-match.js';
export { ANY_FIELD, fieldsOf, fieldsTouched } from './query-fields-of.js';
export { formatFleetQuery } from './query-format.js';
export { dynamicGroupDelta, type DynamicGroupDelta } from './dynamic-group.js';

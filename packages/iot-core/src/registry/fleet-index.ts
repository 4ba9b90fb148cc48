import type { SearchIndexRequest, SearchIndexResponse, ThingDocument } from '@aws-sdk/client-iot';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import { nameCursorTokens } from '../page-token.js';
import { invalidRequest, notFound } from './registry-rules.js';

const searchTokens = nameCursorTokens('SearchIndex');
import {
  ANY_FIELD,
  compileFleetQuery,
  fieldsOf,
  parseFleetQuery,
  type FleetQuery,
  type IndexedConnectivity,
  type IndexedShadow,
  type IndexedThing,
} from './search/index.js';

/** Reads a thing's classic shadow for the index; undefined when the thing has none. */
export type ClassicShadowReader = (thingName: string) => IndexedShadow | undefined;
/** The thing's connection status as the broker sees it; undefined when it never connected. */
export type ConnectivityLookup = (thingName: string) => IndexedConnectivity | undefined;

/** Where the index reads what the registry does not hold itself. */
export interface FleetIndexSources {
  readonly shadow?: ClassicShadowReader;
  readonly connectivity?: ConnectivityLookup;
}

/** The one index fleet indexing offers for things; `AWS_ThingGroups` is not implemented locally. */
export const THINGS_INDEX = 'AWS_Things';
/** "Currently one query version is supported: 2017-09-30" (CreateDynamicThingGroup). */
export const QUERY_VERSION = '2017-09-30';
/** SearchIndex: "This maximum number cannot exceed 100." */
export const MAX_SEARCH_RESULTS = 100;
const DEFAULT_SEARCH_RESULTS = 50;
const SCAN_CHUNK = 500;

interface ThingIndexRow {
  thing_name: string;
  thing_id: string;
  attributes: string;
  groups: string;
}

export interface FleetIndex {
  /** A query, parsed; InvalidQueryException naming the part that is wrong. */
  readonly parse: (queryString: string | undefined) => FleetQuery;
  /** The thing as the index sees it now (registry rows, shadow and connectivity as `query` needs them). */
  readonly indexedThing: (thingName: string, query?: FleetQuery) => IndexedThing | undefined;
  /** Every thing name matching `query`, in name order. */
  readonly matchingThings: (query: FleetQuery) => string[];
  readonly searchIndex: (input: SearchIndexRequest) => SearchIndexResponse;
  readonly connect: (sources: FleetIndexSources) => void;
}

export const checkIndexName = (indexName: string | undefined): void => {
  if (indexName !== undefined && indexName !== THINGS_INDEX) {
    throw notFound(`Index ${indexName} does not exist; the local core indexes things only (${THINGS_INDEX})`);
  }
};

export const checkQueryVersion = (queryVersion: string | undefined): void => {
  if (queryVersion !== undefined && queryVersion !== QUERY_VERSION) {
    throw invalidRequest(`queryVersion ${queryVersion} is not supported; the supported version is ${QUERY_VERSION}`);
  }
};

/**
 * Fleet indexing over the registry's own tables, the classic shadow and connectivity: SearchIndex, and the
 * evaluation dynamic thing groups use. Answers are computed from the current state (no separate index to lag).
 * Query semantics are the pure engine's (src/registry/search, docs/iot-core-search-and-scheduling.md).
 */
export function createFleetIndex(db: Db): FleetIndex {
  let sources: FleetIndexSources = {};
  const groupsColumn = `(SELECT json_group_array(m.group_name) FROM registry_group_members m
                         WHERE m.thing_name = t.thing_name) AS groups`;
  const selectOne = db.prepare<[string], ThingIndexRow>(
    `SELECT t.thing_name, t.thing_id, t.attributes, ${groupsColumn} FROM registry_things t WHERE t.thing_name = ?`,
  );
  const selectChunk = db.prepare<[string, number], ThingIndexRow>(
    `SELECT t.thing_name, t.thing_id, t.attributes, ${groupsColumn} FROM registry_things t
     WHERE t.thing_name > ? ORDER BY t.thing_name LIMIT ?`,
  );

  const parse = (queryString: string | undefined): FleetQuery => {
    if (queryString === undefined || queryString.length === 0) throw invalidRequest('queryString is required');
    const parsed = parseFleetQuery(queryString);
    if (!parsed.ok) throw new AwsServiceError('InvalidQueryException', 400, parsed.error.message);
    return parsed.value;
  };

  /** Which optional sources a query needs, so a registry-only query never reads shadows. */
  const needs = (query: FleetQuery | undefined): { shadow: boolean; connectivity: boolean } => {
    if (query === undefined) return { shadow: true, connectivity: true };
    const fields = fieldsOf(query);
    const any = fields.includes(ANY_FIELD);
    return {
      shadow: any || fields.some((f) => f.startsWith('shadow')),
      connectivity: fields.some((f) => f.startsWith('connectivity')),
    };
  };

  const toIndexed = (row: ThingIndexRow, need: { shadow: boolean; connectivity: boolean }): IndexedThing => {
    const shadow = need.shadow ? sources.shadow?.(row.thing_name) : undefined;
    const connectivity = need.connectivity ? sources.connectivity?.(row.thing_name) : undefined;
    return {
      thingName: row.thing_name,
      attributes: JSON.parse(row.attributes) as Record<string, string>,
      thingGroupNames: (JSON.parse(row.groups) as string[]).sort(),
      ...(shadow === undefined ? {} : { shadow }),
      ...(connectivity === undefined ? {} : { connectivity }),
    };
  };

  /** Walks things in name order after `after`, calling `visit` with each match until it returns false. */
  const scan = (
    query: FleetQuery,
    after: string,
    visit: (row: ThingIndexRow, thing: IndexedThing) => boolean,
  ): void => {
    const matches = compileFleetQuery(query);
    const need = needs(query);
    let cursor = after;
    for (;;) {
      const rows = selectChunk.all(cursor, SCAN_CHUNK);
      for (const row of rows) {
        const thing = toIndexed(row, need);
        if (matches(thing) && !visit(row, thing)) return;
      }
      const last = rows[rows.length - 1];
      if (rows.length < SCAN_CHUNK || last === undefined) return;
      cursor = last.thing_name;
    }
  };

  const documentOf = (row: ThingIndexRow, thing: IndexedThing): ThingDocument => {
    const shadow = thing.shadow ?? sources.shadow?.(row.thing_name);
    const connectivity = thing.connectivity ?? sources.connectivity?.(row.thing_name) ?? { connected: false };
    return {
      thingName: row.thing_name,
      thingId: row.thing_id,
      thingGroupNames: [...thing.thingGroupNames],
      attributes: { ...thing.attributes },
      ...(shadow === undefined ? {} : { shadow: JSON.stringify(shadow) }),
      connectivity,
    };
  };

  return {
    parse,
    indexedThing(thingName, query) {
      const row = selectOne.get(thingName);
      return row === undefined ? undefined : toIndexed(row, needs(query));
    },
    matchingThings(query) {
      const names: string[] = [];
      scan(query, '', (row) => {
        names.push(row.thing_name);
        return true;
      });
      return names;
    },
    // https://docs.aws.amazon.com/iot/latest/apireference/API_SearchIndex.html
    searchIndex(input) {
      checkIndexName(input.indexName);
      checkQueryVersion(input.queryVersion);
      const limit = input.maxResults ?? DEFAULT_SEARCH_RESULTS;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_RESULTS) {
        throw invalidRequest(`maxResults must be an integer from 1 to ${MAX_SEARCH_RESULTS}`);
      }
      const query = parse(input.queryString);
      // A token continues only the query it came from.
      const after = searchTokens.decode(input.nextToken, input.queryString) ?? '';
      const page: ThingDocument[] = [];
      let more = false;
      scan(query, after, (row, thing) => {
        if (page.length === limit) {
          more = true;
          return false;
        }
        page.push(documentOf(row, thing));
        return true;
      });
      const last = page[page.length - 1]?.thingName;
      return {
        things: page,
        thingGroups: [],
        ...(more && last !== undefined ? { nextToken: searchTokens.encode(last, input.queryString) } : {}),
      };
    },
    connect(next) {
      sources = { ...sources, ...next };
    },
  };
}

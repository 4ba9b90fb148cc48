import type {
  CreateDynamicThingGroupRequest,
  CreateDynamicThingGroupResponse,
  DeleteDynamicThingGroupRequest,
  UpdateDynamicThingGroupRequest,
  UpdateDynamicThingGroupResponse,
} from '@aws-sdk/client-iot';
import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import { thingGroupArn, type ArnContext, type MembershipChange } from '../registry-types.js';
import { checkIndexName, checkQueryVersion, QUERY_VERSION, THINGS_INDEX, type FleetIndex } from './fleet-index.js';
import {
  checkAttributes,
  invalidRequest,
  MAX_GROUP_ATTRIBUTES,
  mergeAttributes,
  notFound,
  requireResourceName,
  versionConflict,
} from './registry-rules.js';
import { fieldsOf, fieldsTouched, matchesFleetQuery, type FleetQuery } from './search/index.js';

interface DynamicRow {
  group_name: string;
  group_id: string;
  description: string | null;
  attributes: string;
  version: number;
  query_string: string;
  index_name: string;
  query_version: string;
}

interface Compiled {
  readonly query: FleetQuery;
  readonly reads: readonly string[];
}

export interface DynamicThingGroups {
  readonly create: (input: CreateDynamicThingGroupRequest) => {
    response: CreateDynamicThingGroupResponse;
    changes: MembershipChange[];
  };
  readonly update: (input: UpdateDynamicThingGroupRequest) => {
    response: UpdateDynamicThingGroupResponse;
    changes: MembershipChange[];
  };
  readonly delete: (input: DeleteDynamicThingGroupRequest) => MembershipChange[];
  /**
   * Brings one thing's dynamic memberships up to date after a change to the paths `changed` (undefined: it
   * was just created, every group applies). Run inside the write that made the change.
   */
  readonly reevaluate: (thingName: string, changed?: readonly string[]) => MembershipChange[];
  readonly isDynamic: (groupName: string) => boolean;
}

/**
 * Dynamic thing groups: a group defined by a fleet indexing query, whose members the registry recomputes
 * whenever a thing's attributes, static groups or classic shadow change in a way the query reads.
 * https://docs.aws.amazon.com/iot/latest/developerguide/dynamic-thing-groups.html
 */
export function createDynamicThingGroups(
  db: Db,
  arn: ArnContext,
  index: FleetIndex,
  now: () => Date,
): DynamicThingGroups {
  const selectDynamic = db.prepare<[string], DynamicRow>(
    'SELECT * FROM registry_thing_groups WHERE group_name = ? AND query_string IS NOT NULL',
  );
  const selectAllDynamic = db.prepare<[], { group_name: string; query_string: string }>(
    'SELECT group_name, query_string FROM registry_thing_groups WHERE query_string IS NOT NULL',
  );
  const groupExists = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM registry_thing_groups WHERE group_name = ?',
  );
  const insertGroup = db.prepare<[string, string, string | null, string, number, string, string, string]>(
    `INSERT INTO registry_thing_groups
       (group_name, group_id, description, attributes, parent_group_name, version, created_at, query_string, index_name, query_version)
     VALUES (?, ?, ?, ?, NULL, 1, ?, ?, ?, ?)`,
  );
  const updateGroup = db.prepare<[string | null, string, string, string, string, string]>(
    `UPDATE registry_thing_groups SET description = ?, attributes = ?, query_string = ?, index_name = ?,
       query_version = ?, version = version + 1 WHERE group_name = ?`,
  );
  const deleteGroup = db.prepare<[string]>('DELETE FROM registry_thing_groups WHERE group_name = ?');
  const members = db.prepare<[string], { thing_name: string }>(
    'SELECT thing_name FROM registry_group_members WHERE group_name = ? ORDER BY thing_name',
  );
  const isMember = db.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM registry_group_members WHERE group_name = ? AND thing_name = ?',
  );
  const addMember = db.prepare<[string, string]>(
    'INSERT INTO registry_group_members (group_name, thing_name) VALUES (?, ?)',
  );
  const removeMember = db.prepare<[string, string]>(
    'DELETE FROM registry_group_members WHERE group_name = ? AND thing_name = ?',
  );

  // Parsed queries by text: a registry write evaluates every dynamic group, and parsing each time would dominate.
  const compiled = new Map<string, Compiled>();
  const compile = (queryString: string): Compiled => {
    let c = compiled.get(queryString);
    if (c === undefined) {
      const query = index.parse(queryString);
      c = { query, reads: fieldsOf(query) };
      compiled.set(queryString, c);
    }
    return c;
  };

  /** Sets the members of `groupName` to exactly the things `query` matches now. */
  const recompute = (groupName: string, query: FleetQuery): MembershipChange[] => {
    const wanted = new Set(index.matchingThings(query));
    const changes: MembershipChange[] = [];
    for (const { thing_name: thingName } of members.all(groupName)) {
      if (wanted.delete(thingName)) continue;
      removeMember.run(groupName, thingName);
      changes.push({ kind: 'removed', thingName, thingGroupName: groupName });
    }
    for (const thingName of wanted) {
      addMember.run(groupName, thingName);
      changes.push({ kind: 'added', thingName, thingGroupName: groupName });
    }
    return changes;
  };

  const create = db.transaction((input: CreateDynamicThingGroupRequest) => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    checkIndexName(input.indexName);
    checkQueryVersion(input.queryVersion);
    const { query } = compile(input.queryString ?? '');
    const attributes = checkAttributes(input.thingGroupProperties?.attributePayload?.attributes, MAX_GROUP_ATTRIBUTES);
    if ((groupExists.get(name)?.n ?? 0) > 0) {
      throw new AwsServiceError('ResourceAlreadyExistsException', 409, `Thing group ${name} already exists`);
    }
    const id = randomUUID();
    const queryString = input.queryString ?? '';
    const description = input.thingGroupProperties?.thingGroupDescription ?? null;
    insertGroup.run(
      name,
      id,
      description,
      JSON.stringify(attributes),
      now().getTime(),
      queryString,
      THINGS_INDEX,
      QUERY_VERSION,
    );
    const response: CreateDynamicThingGroupResponse = {
      thingGroupName: name,
      thingGroupArn: thingGroupArn(arn, name),
      thingGroupId: id,
      indexName: THINGS_INDEX,
      queryString,
      queryVersion: QUERY_VERSION,
    };
    return { response, changes: recompute(name, query) };
  });

  const requireDynamic = (name: string): DynamicRow => {
    const row = selectDynamic.get(name);
    if (row === undefined) {
      throw (groupExists.get(name)?.n ?? 0) > 0
        ? invalidRequest(`Thing group ${name} is not a dynamic thing group`)
        : notFound(`Thing group ${name} cannot be found.`);
    }
    return row;
  };

  const update = db.transaction((input: UpdateDynamicThingGroupRequest) => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    const row = requireDynamic(name);
    if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
      throw versionConflict('thing group', name);
    checkIndexName(input.indexName);
    checkQueryVersion(input.queryVersion);
    const queryString = input.queryString ?? row.query_string;
    const { query } = compile(queryString);
    const properties = input.thingGroupProperties;
    const attributes = mergeAttributes(
      JSON.parse(row.attributes) as Record<string, string>,
      properties?.attributePayload,
      MAX_GROUP_ATTRIBUTES,
    );
    const description = properties?.thingGroupDescription ?? row.description;
    updateGroup.run(description, JSON.stringify(attributes), queryString, THINGS_INDEX, QUERY_VERSION, name);
    const changes = queryString === row.query_string ? [] : recompute(name, query);
    return { response: { version: row.version + 1 }, changes };
  });

  const remove = db.transaction((input: DeleteDynamicThingGroupRequest): MembershipChange[] => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    const row = selectDynamic.get(name);
    if (row === undefined) {
      // As DeleteThingGroup: deleting a group that does not exist succeeds; a static one is the wrong call.
      if ((groupExists.get(name)?.n ?? 0) > 0) throw invalidRequest(`Thing group ${name} is not a dynamic thing group`);
      return [];
    }
    if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
      throw versionConflict('thing group', name);
    const removed = members
      .all(name)
      .map((m): MembershipChange => ({ kind: 'removed', thingName: m.thing_name, thingGroupName: name }));
    deleteGroup.run(name);
    return removed;
  });

  const reevaluate = (thingName: string, changed?: readonly string[]): MembershipChange[] => {
    const changes: MembershipChange[] = [];
    for (const group of selectAllDynamic.all()) {
      const { query, reads } = compile(group.query_string);
      if (changed !== undefined && !fieldsTouched(reads, changed)) continue;
      const thing = index.indexedThing(thingName, query);
      const wanted = thing !== undefined && matchesFleetQuery(query, thing);
      const member = (isMember.get(group.group_name, thingName)?.n ?? 0) > 0;
      if (wanted && !member) {
        addMember.run(group.group_name, thingName);
        changes.push({ kind: 'added', thingName, thingGroupName: group.group_name });
      } else if (!wanted && member) {
        removeMember.run(group.group_name, thingName);
        changes.push({ kind: 'removed', thingName, thingGroupName: group.group_name });
      }
    }
    return changes;
  };

  return {
    create,
    update,
    delete: remove,
    reevaluate,
    isDynamic: (groupName) => selectDynamic.get(groupName) !== undefined,
  };
}

import type {
  AddThingToThingGroupRequest,
  CreateThingGroupRequest,
  CreateThingGroupResponse,
  DeleteThingGroupRequest,
  DescribeThingGroupRequest,
  DescribeThingGroupResponse,
  GroupNameAndArn,
  ListThingsInThingGroupRequest,
  ListThingsInThingGroupResponse,
  RemoveThingFromThingGroupRequest,
  UpdateThingGroupRequest,
  UpdateThingGroupResponse,
} from '@aws-sdk/client-iot';
import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import { thingGroupArn, type ArnContext, type MembershipChange, type ThingGroupRecord } from '../registry-types.js';
import {
  checkAttributes,
  checkMaxResults,
  invalidRequest,
  MAX_GROUP_ATTRIBUTES,
  MAX_GROUPS_PER_THING,
  mergeAttributes,
  notFound,
  requireResourceName,
  sameAttributes,
  versionConflict,
} from './registry-rules.js';
import { nameCursorTokens } from '../page-token.js';

const membersTokens = nameCursorTokens('ListThingsInThingGroup');

interface GroupRow {
  group_name: string;
  group_id: string;
  description: string | null;
  attributes: string;
  parent_group_name: string | null;
  version: number;
  created_at: number;
  /** Set for a dynamic thing group (see dynamic-thing-groups.ts). */
  query_string: string | null;
  index_name: string | null;
  query_version: string | null;
}

export interface ThingGroupStore {
  readonly getThingGroup: (thingGroupName: string) => ThingGroupRecord | undefined;
  readonly listThingsInGroup: (thingGroupName: string) => readonly string[];
  readonly createThingGroup: (input: CreateThingGroupRequest) => CreateThingGroupResponse;
  readonly deleteThingGroup: (input: DeleteThingGroupRequest) => MembershipChange[];
  readonly updateThingGroup: (input: UpdateThingGroupRequest) => UpdateThingGroupResponse;
  readonly describeThingGroup: (input: DescribeThingGroupRequest) => DescribeThingGroupResponse;
  readonly addThingToThingGroup: (input: AddThingToThingGroupRequest) => MembershipChange[];
  readonly removeThingFromThingGroup: (input: RemoveThingFromThingGroupRequest) => MembershipChange[];
  readonly listThingsInThingGroup: (input: ListThingsInThingGroupRequest) => ListThingsInThingGroupResponse;
}

export function createThingGroupStore(db: Db, arn: ArnContext, now: () => Date): ThingGroupStore {
  const selectGroup = db.prepare<[string], GroupRow>('SELECT * FROM registry_thing_groups WHERE group_name = ?');
  const insertGroup = db.prepare<[string, string, string | null, string, string | null, number]>(
    `INSERT INTO registry_thing_groups (group_name, group_id, description, attributes, parent_group_name, version, created_at)
     VALUES (?, ?, ?, ?, ?, 1, ?)`,
  );
  const updateGroup = db.prepare<[string | null, string, string]>(
    'UPDATE registry_thing_groups SET description = ?, attributes = ?, version = version + 1 WHERE group_name = ?',
  );
  const deleteGroup = db.prepare<[string]>('DELETE FROM registry_thing_groups WHERE group_name = ?');
  const childCount = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM registry_thing_groups WHERE parent_group_name = ?',
  );
  const thingExists = db.prepare<[string], { thing_name: string }>(
    'SELECT thing_name FROM registry_things WHERE thing_name = ?',
  );
  const members = db.prepare<[string], { thing_name: string }>(
    'SELECT thing_name FROM registry_group_members WHERE group_name = ? ORDER BY thing_name',
  );
  const isMember = db.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM registry_group_members WHERE group_name = ? AND thing_name = ?',
  );
  // The static groups of a thing: dynamic memberships count neither toward the limit nor the hierarchy rule.
  const staticGroupsOf = db.prepare<[string], { group_name: string }>(
    `SELECT m.group_name FROM registry_group_members m JOIN registry_thing_groups g ON g.group_name = m.group_name
     WHERE m.thing_name = ? AND g.query_string IS NULL ORDER BY m.group_name`,
  );
  const addMember = db.prepare<[string, string]>(
    'INSERT INTO registry_group_members (group_name, thing_name) VALUES (?, ?)',
  );
  const removeMember = db.prepare<[string, string]>(
    'DELETE FROM registry_group_members WHERE group_name = ? AND thing_name = ?',
  );
  // The group and all its descendants, for recursive listing.
  const pageOfDescendantMembers = db.prepare<[string, string, number], { thing_name: string }>(
    `WITH RECURSIVE tree(name) AS (
       SELECT ? UNION SELECT g.group_name FROM registry_thing_groups g JOIN tree ON g.parent_group_name = tree.name)
     SELECT DISTINCT m.thing_name FROM registry_group_members m JOIN tree ON m.group_name = tree.name
     WHERE m.thing_name > ? ORDER BY m.thing_name LIMIT ?`,
  );
  const pageOfMembers = db.prepare<[string, string, number], { thing_name: string }>(
    'SELECT thing_name FROM registry_group_members WHERE group_name = ? AND thing_name > ? ORDER BY thing_name LIMIT ?',
  );

  const getThingGroup = (name: string): ThingGroupRecord | undefined => {
    const row = selectGroup.get(name);
    return row === undefined
      ? undefined
      : {
          thingGroupName: row.group_name,
          thingGroupArn: thingGroupArn(arn, row.group_name),
          thingGroupId: row.group_id,
        };
  };

  const requireGroup = (name: string): GroupRow => {
    const row = selectGroup.get(name);
    if (row === undefined) throw notFound(`Thing group ${name} cannot be found.`);
    return row;
  };

  /** Resolves the name-or-ARN pair AWS accepts for a thing or a group. */
  const resolveName = (
    kind: 'thing' | 'thinggroup',
    field: string,
    name: string | undefined,
    resourceArn: string | undefined,
  ): string => {
    const prefix = `arn:aws:iot:${arn.region}:${arn.accountId}:${kind}/`;
    let fromArn: string | undefined;
    if (resourceArn !== undefined) {
      if (!resourceArn.startsWith(prefix)) throw invalidRequest(`Invalid ${field}Arn: ${resourceArn}`);
      fromArn = resourceArn.slice(prefix.length);
    }
    if (name !== undefined && fromArn !== undefined && name !== fromArn) {
      throw invalidRequest(`${field}Name ${name} and ${field}Arn ${resourceArn ?? ''} name different resources`);
    }
    const resolved = name ?? fromArn;
    if (resolved === undefined) throw invalidRequest(`Either ${field}Name or ${field}Arn must be specified`);
    return requireResourceName(`${field}Name`, resolved);
  };

  const resolveMembership = (input: {
    thingName?: string | undefined;
    thingArn?: string | undefined;
    thingGroupName?: string | undefined;
    thingGroupArn?: string | undefined;
  }): { thingName: string; thingGroupName: string } => {
    const thingGroupName = resolveName('thinggroup', 'thingGroup', input.thingGroupName, input.thingGroupArn);
    const thingName = resolveName('thing', 'thing', input.thingName, input.thingArn);
    if (requireGroup(thingGroupName).query_string !== null) {
      throw invalidRequest(`Thing group ${thingGroupName} is dynamic: its query decides its members`);
    }
    if (thingExists.get(thingName) === undefined) throw notFound(`Thing ${thingName} cannot be found.`);
    return { thingName, thingGroupName };
  };

  const ancestors = (row: GroupRow): GroupNameAndArn[] => {
    const chain: GroupNameAndArn[] = [];
    const seen = new Set<string>([row.group_name]);
    let parent = row.parent_group_name;
    while (parent !== null && !seen.has(parent)) {
      seen.add(parent);
      chain.unshift({ groupName: parent, groupArn: thingGroupArn(arn, parent) });
      parent = selectGroup.get(parent)?.parent_group_name ?? null;
    }
    return chain;
  };

  const createThingGroup = db.transaction((input: CreateThingGroupRequest): CreateThingGroupResponse => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    const parent =
      input.parentGroupName === undefined ? null : requireResourceName('parentGroupName', input.parentGroupName);
    const attributes = checkAttributes(input.thingGroupProperties?.attributePayload?.attributes, MAX_GROUP_ATTRIBUTES);
    const description = input.thingGroupProperties?.thingGroupDescription ?? null;
    const existing = selectGroup.get(name);
    if (existing !== undefined) {
      // Exactly the same group again is a 200; anything different is a conflict.
      // https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThingGroup.html
      const same =
        existing.description === description &&
        existing.parent_group_name === parent &&
        sameAttributes(JSON.parse(existing.attributes) as Record<string, string>, attributes);
      if (!same) {
        throw new AwsServiceError(
          'ResourceAlreadyExistsException',
          409,
          `Thing group ${name} already exists with different properties`,
        );
      }
      return { thingGroupName: name, thingGroupArn: thingGroupArn(arn, name), thingGroupId: existing.group_id };
    }
    const parentRow = parent === null ? undefined : selectGroup.get(parent);
    if (parent !== null && parentRow === undefined) {
      throw invalidRequest(`Parent thing group ${parent} does not exist`);
    }
    if (parentRow?.query_string != null) {
      throw invalidRequest(`Dynamic thing group ${parent} cannot be a parent group`);
    }
    const id = randomUUID();
    insertGroup.run(name, id, description, JSON.stringify(attributes), parent, now().getTime());
    return { thingGroupName: name, thingGroupArn: thingGroupArn(arn, name), thingGroupId: id };
  });

  const deleteThingGroup = db.transaction((input: DeleteThingGroupRequest): MembershipChange[] => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    const row = selectGroup.get(name);
    // DeleteThingGroup lists no ResourceNotFoundException: deleting a missing group succeeds.
    // https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteThingGroup.html
    if (row === undefined) return [];
    if (row.query_string !== null) {
      throw invalidRequest(`Thing group ${name} is dynamic: delete it with DeleteDynamicThingGroup`);
    }
    if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
      throw versionConflict('thing group', name);
    if ((childCount.get(name)?.n ?? 0) > 0) {
      throw invalidRequest(`Cannot delete thing group ${name} while it has child groups`);
    }
    const removed = members
      .all(name)
      .map((m): MembershipChange => ({ kind: 'removed', thingName: m.thing_name, thingGroupName: name }));
    deleteGroup.run(name);
    return removed;
  });

  // https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateThingGroup.html
  const updateThingGroup = db.transaction((input: UpdateThingGroupRequest): UpdateThingGroupResponse => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    const row = requireGroup(name);
    if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
      throw versionConflict('thing group', name);
    const properties = input.thingGroupProperties;
    const attributes = mergeAttributes(
      JSON.parse(row.attributes) as Record<string, string>,
      properties?.attributePayload,
      MAX_GROUP_ATTRIBUTES,
    );
    const description =
      properties?.thingGroupDescription === undefined ? row.description : properties.thingGroupDescription;
    updateGroup.run(description, JSON.stringify(attributes), name);
    return { version: row.version + 1 };
  });

  const describeThingGroup = (input: DescribeThingGroupRequest): DescribeThingGroupResponse => {
    const row = requireGroup(requireResourceName('thingGroupName', input.thingGroupName));
    return {
      thingGroupName: row.group_name,
      thingGroupId: row.group_id,
      thingGroupArn: thingGroupArn(arn, row.group_name),
      version: row.version,
      thingGroupProperties: {
        ...(row.description === null ? {} : { thingGroupDescription: row.description }),
        attributePayload: { attributes: JSON.parse(row.attributes) as Record<string, string> },
      },
      thingGroupMetadata: {
        ...(row.parent_group_name === null ? {} : { parentGroupName: row.parent_group_name }),
        rootToParentThingGroups: ancestors(row),
        creationDate: new Date(row.created_at),
      },
      ...(row.query_string === null
        ? {}
        : {
            indexName: row.index_name ?? undefined,
            queryString: row.query_string,
            queryVersion: row.query_version ?? undefined,
            status: 'ACTIVE',
          }),
    };
  };

  const rootOf = (name: string): string => {
    const row = selectGroup.get(name);
    return row === undefined ? name : (ancestors(row)[0]?.groupName ?? name);
  };

  const addThingToThingGroup = db.transaction((input: AddThingToThingGroupRequest): MembershipChange[] => {
    const { thingName, thingGroupName } = resolveMembership(input);
    if ((isMember.get(thingGroupName, thingName)?.n ?? 0) > 0) return [];
    const current = staticGroupsOf.all(thingName).map((g) => g.group_name);
    // "You can add a thing to a maximum of 10 groups. But you can't add a thing to more than one group in
    // the same hierarchy." https://docs.aws.amazon.com/iot/latest/developerguide/thing-groups.html
    if (current.length >= MAX_GROUPS_PER_THING) {
      throw invalidRequest(`Thing ${thingName} already belongs to ${MAX_GROUPS_PER_THING} thing groups`);
    }
    const root = rootOf(thingGroupName);
    const sameHierarchy = current.find((g) => rootOf(g) === root);
    if (sameHierarchy !== undefined) {
      throw invalidRequest(
        `Thing ${thingName} already belongs to thing group ${sameHierarchy} in the same hierarchy as ${thingGroupName}`,
      );
    }
    addMember.run(thingGroupName, thingName);
    return [{ kind: 'added', thingName, thingGroupName }];
  });

  const removeThingFromThingGroup = db.transaction((input: RemoveThingFromThingGroupRequest): MembershipChange[] => {
    const { thingName, thingGroupName } = resolveMembership(input);
    const { changes } = removeMember.run(thingGroupName, thingName);
    return changes > 0 ? [{ kind: 'removed', thingName, thingGroupName }] : [];
  });

  const listThingsInThingGroup = (input: ListThingsInThingGroupRequest): ListThingsInThingGroupResponse => {
    const name = requireResourceName('thingGroupName', input.thingGroupName);
    requireGroup(name);
    const limit = checkMaxResults(input.maxResults);
    const scope = input.recursive === true ? `${name},recursive` : name;
    const after = membersTokens.decode(input.nextToken, scope) ?? '';
    const statement = input.recursive === true ? pageOfDescendantMembers : pageOfMembers;
    const rows = statement.all(name, after, limit + 1);
    const page = rows.slice(0, limit).map((r) => r.thing_name);
    const last = page[page.length - 1];
    return {
      things: page,
      ...(rows.length > limit && last !== undefined ? { nextToken: membersTokens.encode(last, scope) } : {}),
    };
  };

  return {
    getThingGroup,
    listThingsInGroup: (name) => members.all(name).map((m) => m.thing_name),
    createThingGroup,
    deleteThingGroup,
    updateThingGroup,
    describeThingGroup,
    addThingToThingGroup,
    removeThingFromThingGroup,
    listThingsInThingGroup,
  };
}

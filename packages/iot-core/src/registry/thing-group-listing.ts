import type {
  GroupNameAndArn,
  ListThingGroupsForThingRequest,
  ListThingGroupsForThingResponse,
  ListThingGroupsRequest,
  ListThingGroupsResponse,
} from '@aws-sdk/client-iot';
import type { Db } from '../db.js';
import { thingGroupArn, type ArnContext } from '../registry-types.js';
import { nameCursorTokens, type PageTokens } from '../page-token.js';
import { checkMaxResults, notFound, requireResourceName } from './registry-rules.js';

const listGroupsTokens = nameCursorTokens('ListThingGroups');
const groupsOfThingTokens = nameCursorTokens('ListThingGroupsForThing');

export interface ThingGroupListing {
  readonly listThingGroups: (input: ListThingGroupsRequest) => ListThingGroupsResponse;
  readonly listThingGroupsForThing: (input: ListThingGroupsForThingRequest) => ListThingGroupsForThingResponse;
}

/**
 * ListThingGroups and ListThingGroupsForThing, paged by name like every registry listing.
 * https://docs.aws.amazon.com/iot/latest/apireference/API_ListThingGroups.html
 */
export function createThingGroupListing(db: Db, arn: ArnContext): ThingGroupListing {
  const groupExists = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM registry_thing_groups WHERE group_name = ?',
  );
  const thingExists = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM registry_things WHERE thing_name = ?',
  );
  const pageOfGroups = db.prepare<
    [{ parent: string | null; recursive: number; prefix: string; after: string; limit: number }],
    { group_name: string }
  >(
    `WITH RECURSIVE tree(name, depth) AS (
       SELECT group_name, 1 FROM registry_thing_groups WHERE parent_group_name = @parent
       UNION ALL
       SELECT g.group_name, tree.depth + 1 FROM registry_thing_groups g JOIN tree ON g.parent_group_name = tree.name
       WHERE @recursive = 1)
     SELECT group_name FROM registry_thing_groups
     WHERE (@parent IS NULL OR group_name IN (SELECT name FROM tree))
       AND substr(group_name, 1, length(@prefix)) = @prefix AND group_name > @after
     ORDER BY group_name LIMIT @limit`,
  );
  const pageOfGroupsOfThing = db.prepare<[string, string, number], { group_name: string }>(
    `SELECT group_name FROM registry_group_members WHERE thing_name = ? AND group_name > ?
     ORDER BY group_name LIMIT ?`,
  );

  const page = (
    rows: readonly { group_name: string }[],
    limit: number,
    tokens: PageTokens<string>,
    scope: string,
  ): { thingGroups: GroupNameAndArn[]; nextToken?: string } => {
    const names = rows.slice(0, limit).map((r) => r.group_name);
    const last = names[names.length - 1];
    return {
      thingGroups: names.map((groupName) => ({ groupName, groupArn: thingGroupArn(arn, groupName) })),
      ...(rows.length > limit && last !== undefined ? { nextToken: tokens.encode(last, scope) } : {}),
    };
  };

  return {
    // Without parentGroup: every group. With it: its children, or with recursive its whole subtree.
    listThingGroups(input) {
      const limit = checkMaxResults(input.maxResults);
      const parent = input.parentGroup === undefined ? null : requireResourceName('parentGroup', input.parentGroup);
      if (parent !== null && (groupExists.get(parent)?.n ?? 0) === 0) {
        throw notFound(`Thing group ${parent} cannot be found.`);
      }
      const prefix =
        input.namePrefixFilter === undefined ? '' : requireResourceName('namePrefixFilter', input.namePrefixFilter);
      // A token continues only the listing it came from: the same parent, recursion and prefix.
      const scope = JSON.stringify([parent, input.recursive === true, prefix]);
      const after = listGroupsTokens.decode(input.nextToken, scope) ?? '';
      // The prefix compares case sensitively (substr, not LIKE).
      const rows = pageOfGroups.all({
        parent,
        recursive: input.recursive === true ? 1 : 0,
        prefix,
        after,
        limit: limit + 1,
      });
      return page(rows, limit, listGroupsTokens, scope);
    },
    listThingGroupsForThing(input) {
      const thingName = requireResourceName('thingName', input.thingName);
      if ((thingExists.get(thingName)?.n ?? 0) === 0) throw notFound(`Thing ${thingName} cannot be found.`);
      const limit = checkMaxResults(input.maxResults);
      const after = groupsOfThingTokens.decode(input.nextToken, thingName) ?? '';
      return page(pageOfGroupsOfThing.all(thingName, after, limit + 1), limit, groupsOfThingTokens, thingName);
    },
  };
}

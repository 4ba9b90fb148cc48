import type {
  CreateThingRequest,
  CreateThingResponse,
  DeleteThingRequest,
  DescribeThingRequest,
  DescribeThingResponse,
  ListThingsRequest,
  ListThingsResponse,
  UpdateThingRequest,
} from '@aws-sdk/client-iot';
import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import { thingArn, type ArnContext, type MembershipChange, type ThingRecord } from '../registry-types.js';
import {
  checkAttributes,
  checkMaxResults,
  invalidRequest,
  MAX_THING_ATTRIBUTES,
  mergeAttributes,
  notFound,
  requireResourceName,
  sameAttributes,
  versionConflict,
} from './registry-rules.js';
import { nameCursorTokens } from '../page-token.js';

const listThingsTokens = nameCursorTokens('ListThings');

interface ThingRow {
  thing_name: string;
  thing_id: string;
  attributes: string;
  version: number;
}

const toRecord = (arn: ArnContext, row: ThingRow): ThingRecord => ({
  thingName: row.thing_name,
  thingArn: thingArn(arn, row.thing_name),
  thingId: row.thing_id,
  attributes: JSON.parse(row.attributes) as Record<string, string>,
  version: row.version,
});

export interface ThingStore {
  readonly getThing: (thingName: string) => ThingRecord | undefined;
  readonly createThing: (input: CreateThingRequest) => CreateThingResponse;
  readonly describeThing: (input: DescribeThingRequest) => DescribeThingResponse;
  /** Returns the memberships the deletion removed, for the listeners. */
  readonly deleteThing: (input: DeleteThingRequest) => MembershipChange[];
  readonly listThings: (input: ListThingsRequest) => ListThingsResponse;
  /** Returns the thing before and after, for the listeners. */
  readonly updateThing: (input: UpdateThingRequest) => { before: ThingRecord; after: ThingRecord };
}

export function createThingStore(db: Db, arn: ArnContext, now: () => Date): ThingStore {
  const select = db.prepare<[string], ThingRow>(
    'SELECT thing_name, thing_id, attributes, version FROM registry_things WHERE thing_name = ?',
  );
  const insert = db.prepare<[string, string, string, number]>(
    'INSERT INTO registry_things (thing_name, thing_id, attributes, version, created_at) VALUES (?, ?, ?, 1, ?)',
  );
  const update = db.prepare<[string, string]>(
    'UPDATE registry_things SET attributes = ?, version = version + 1 WHERE thing_name = ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM registry_things WHERE thing_name = ?');
  const groupsOf = db.prepare<[string], { group_name: string }>(
    'SELECT group_name FROM registry_group_members WHERE thing_name = ? ORDER BY group_name',
  );

  const getThing = (thingName: string): ThingRecord | undefined => {
    const row = select.get(thingName);
    return row === undefined ? undefined : toRecord(arn, row);
  };

  const createThing = db.transaction((input: CreateThingRequest): CreateThingResponse => {
    const thingName = requireResourceName('thingName', input.thingName);
    // Thing types and billing groups are not part of the local core, so any name given refers to nothing.
    if (input.thingTypeName !== undefined) throw notFound(`Thing type ${input.thingTypeName} does not exist`);
    if (input.billingGroupName !== undefined) {
      throw notFound(`Billing group ${input.billingGroupName} does not exist`);
    }
    const attributes = checkAttributes(input.attributePayload?.attributes, MAX_THING_ATTRIBUTES);
    const existing = getThing(thingName);
    if (existing !== undefined) {
      // Same name and configuration succeeds; a different configuration is a conflict.
      // https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html
      if (!sameAttributes(existing.attributes, attributes)) {
        throw new AwsServiceError(
          'ResourceAlreadyExistsException',
          409,
          `Thing ${thingName} already exists in account with different attributes`,
        );
      }
      return { thingName, thingArn: existing.thingArn, thingId: existing.thingId };
    }
    const thingId = randomUUID();
    insert.run(thingName, thingId, JSON.stringify(attributes), now().getTime());
    return { thingName, thingArn: thingArn(arn, thingName), thingId };
  });

  const describeThing = (input: DescribeThingRequest): DescribeThingResponse => {
    const thingName = requireResourceName('thingName', input.thingName);
    const thing = getThing(thingName);
    if (thing === undefined) throw notFound(`Thing ${thingName} cannot be found.`);
    return {
      defaultClientId: thing.thingName,
      thingName: thing.thingName,
      thingId: thing.thingId,
      thingArn: thing.thingArn,
      attributes: { ...thing.attributes },
      version: thing.version,
    };
  };

  const deleteThing = db.transaction((input: DeleteThingRequest): MembershipChange[] => {
    const thingName = requireResourceName('thingName', input.thingName);
    const thing = getThing(thingName);
    // Deleting a thing that does not exist succeeds.
    // https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteThing.html
    if (thing === undefined) return [];
    if (input.expectedVersion !== undefined && input.expectedVersion !== thing.version) {
      throw versionConflict('thing', thingName);
    }
    const changes = groupsOf
      .all(thingName)
      .map((g): MembershipChange => ({ kind: 'removed', thingName, thingGroupName: g.group_name }));
    remove.run(thingName);
    return changes;
  });

  // https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateThing.html
  const updateThing = db.transaction((input: UpdateThingRequest): { before: ThingRecord; after: ThingRecord } => {
    const thingName = requireResourceName('thingName', input.thingName);
    if (input.thingTypeName !== undefined && input.removeThingType === true) {
      throw invalidRequest('thingTypeName and removeThingType cannot be given together');
    }
    if (input.thingTypeName !== undefined) throw notFound(`Thing type ${input.thingTypeName} does not exist`);
    const before = getThing(thingName);
    if (before === undefined) throw notFound(`Thing ${thingName} cannot be found.`);
    if (input.expectedVersion !== undefined && input.expectedVersion !== before.version) {
      throw versionConflict('thing', thingName);
    }
    const attributes = mergeAttributes(before.attributes, input.attributePayload, MAX_THING_ATTRIBUTES);
    update.run(JSON.stringify(attributes), thingName);
    return { before, after: { ...before, attributes, version: before.version + 1 } };
  });

  const listThings = (input: ListThingsRequest): ListThingsResponse => {
    const limit = checkMaxResults(input.maxResults);
    const after = listThingsTokens.decode(input.nextToken);
    if (input.attributeValue !== undefined && input.attributeName === undefined) {
      throw invalidRequest('attributeValue requires attributeName');
    }
    // No thing types exist locally, so a thing type filter matches nothing.
    if (input.thingTypeName !== undefined) return { things: [] };
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (after !== undefined) {
      where.push('thing_name > ?');
      params.push(after);
    }
    if (input.attributeName !== undefined) {
      if (input.attributeValue === undefined) {
        where.push('EXISTS (SELECT 1 FROM json_each(attributes) WHERE key = ?)');
        params.push(input.attributeName);
      } else if (input.usePrefixAttributeValue === true) {
        where.push('EXISTS (SELECT 1 FROM json_each(attributes) WHERE key = ? AND substr(value, 1, ?) = ?)');
        params.push(input.attributeName, input.attributeValue.length, input.attributeValue);
      } else {
        where.push('EXISTS (SELECT 1 FROM json_each(attributes) WHERE key = ? AND value = ?)');
        params.push(input.attributeName, input.attributeValue);
      }
    }
    const sql =
      'SELECT thing_name, thing_id, attributes, version FROM registry_things' +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY thing_name LIMIT ?';
    const rows = db.prepare<(string | number)[], ThingRow>(sql).all(...params, limit + 1);
    const page = rows.slice(0, limit).map((r) => toRecord(arn, r));
    const last = page[page.length - 1];
    return {
      things: page.map((t) => ({
        thingName: t.thingName,
        thingArn: t.thingArn,
        attributes: { ...t.attributes },
        version: t.version,
      })),
      ...(rows.length > limit && last !== undefined ? { nextToken: listThingsTokens.encode(last.thingName) } : {}),
    };
  };

  return { getThing, createThing, describeThing, deleteThing, listThings, updateThing };
}

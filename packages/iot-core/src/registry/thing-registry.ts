import type {
  AddThingToThingGroupRequest,
  CreateThingGroupRequest,
  CreateThingGroupResponse,
  CreateThingRequest,
  CreateThingResponse,
  DeleteThingGroupRequest,
  DeleteThingRequest,
  DescribeThingGroupRequest,
  DescribeThingGroupResponse,
  DescribeThingRequest,
  DescribeThingResponse,
  ListThingsInThingGroupRequest,
  ListThingsInThingGroupResponse,
  ListThingsRequest,
  ListThingsResponse,
  RemoveThingFromThingGroupRequest,
} from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { ArnContext, MembershipChange, ThingRegistryView } from '../registry-types.js';
import { migrateRegistry } from './registry-schema.js';
import { createThingGroupStore } from './thing-group-store.js';
import { createThingStore } from './thing-store.js';

/**
 * The thing registry: things, thing groups and static group membership, in SQLite. Every method commits
 * before it returns; membership listeners run after the commit. Inputs and outputs are the AWS SDK's
 * own request/response types; failures are thrown as AwsServiceError with AWS's exception names.
 */
export interface ThingRegistry extends ThingRegistryView {
  createThing(input: CreateThingRequest): CreateThingResponse;
  describeThing(input: DescribeThingRequest): DescribeThingResponse;
  deleteThing(input: DeleteThingRequest): void;
  listThings(input: ListThingsRequest): ListThingsResponse;
  createThingGroup(input: CreateThingGroupRequest): CreateThingGroupResponse;
  deleteThingGroup(input: DeleteThingGroupRequest): void;
  describeThingGroup(input: DescribeThingGroupRequest): DescribeThingGroupResponse;
  addThingToThingGroup(input: AddThingToThingGroupRequest): void;
  removeThingFromThingGroup(input: RemoveThingFromThingGroupRequest): void;
  listThingsInThingGroup(input: ListThingsInThingGroupRequest): ListThingsInThingGroupResponse;
}

export interface ThingRegistryOptions {
  /** Where a failing membership listener is reported; listeners never undo a committed change. */
  readonly logger?: Logger;
  /** Clock for creation dates (tests). */
  readonly now?: () => Date;
}

export function createThingRegistry(db: Db, arn: ArnContext, options: ThingRegistryOptions = {}): ThingRegistry {
  migrateRegistry(db);
  const listeners = new Set<(change: MembershipChange) => void>();
  const notify = (changes: readonly MembershipChange[]): void => {
    for (const change of changes) {
      for (const listener of [...listeners]) {
        try {
          listener(change);
        } catch (e) {
          options.logger?.error({ err: e, change }, 'thing registry membership listener failed');
        }
      }
    }
  };
  const now = options.now ?? ((): Date => new Date());
  const things = createThingStore(db, arn, now);
  const groups = createThingGroupStore(db, arn, now);

  return {
    getThing: things.getThing,
    getThingGroup: groups.getThingGroup,
    listThingsInGroup: groups.listThingsInGroup,
    onMembershipChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    createThing: things.createThing,
    describeThing: things.describeThing,
    deleteThing(input) {
      notify(things.deleteThing(input));
    },
    listThings: things.listThings,
    createThingGroup: groups.createThingGroup,
    deleteThingGroup(input) {
      notify(groups.deleteThingGroup(input));
    },
    describeThingGroup: groups.describeThingGroup,
    addThingToThingGroup(input) {
      notify(groups.addThingToThingGroup(input));
    },
    removeThingFromThingGroup(input) {
      notify(groups.removeThingFromThingGroup(input));
    },
    listThingsInThingGroup: groups.listThingsInThingGroup,
  };
}

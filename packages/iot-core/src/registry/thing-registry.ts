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
  ListThingGroupsForThingRequest,
  ListThingGroupsForThingResponse,
  ListThingGroupsRequest,
  ListThingGroupsResponse,
  ListThingsInThingGroupRequest,
  ListThingsInThingGroupResponse,
  ListThingsRequest,
  ListThingsResponse,
  RemoveThingFromThingGroupRequest,
  UpdateThingGroupRequest,
  UpdateThingGroupResponse,
  UpdateThingRequest,
} from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { ArnContext, MembershipChange, ThingRegistryView } from '../registry-types.js';
import { createRegistryCommit, type RegistryDurability } from './registry-commit.js';
import { migrateRegistry } from './registry-schema.js';
import { createThingGroupListing } from './thing-group-listing.js';
import { createThingGroupStore } from './thing-group-store.js';
import { createThingStore } from './thing-store.js';

/**
 * The thing registry: things, thing groups and static group membership, in SQLite. Every API method
 * resolves only once its effect is on disk (concurrent calls share fsyncs, see registry-commit.ts);
 * membership listeners run after that. Inputs and outputs are the AWS SDK's own request/response types;
 * failures are AwsServiceError with AWS's exception names, and a failed call changes nothing.
 */
export interface ThingRegistry extends ThingRegistryView {
  createThing(input: CreateThingRequest): Promise<CreateThingResponse>;
  describeThing(input: DescribeThingRequest): Promise<DescribeThingResponse>;
  updateThing(input: UpdateThingRequest): Promise<void>;
  deleteThing(input: DeleteThingRequest): Promise<void>;
  listThings(input: ListThingsRequest): Promise<ListThingsResponse>;
  createThingGroup(input: CreateThingGroupRequest): Promise<CreateThingGroupResponse>;
  updateThingGroup(input: UpdateThingGroupRequest): Promise<UpdateThingGroupResponse>;
  deleteThingGroup(input: DeleteThingGroupRequest): Promise<void>;
  describeThingGroup(input: DescribeThingGroupRequest): Promise<DescribeThingGroupResponse>;
  listThingGroups(input: ListThingGroupsRequest): Promise<ListThingGroupsResponse>;
  listThingGroupsForThing(input: ListThingGroupsForThingRequest): Promise<ListThingGroupsForThingResponse>;
  addThingToThingGroup(input: AddThingToThingGroupRequest): Promise<void>;
  removeThingFromThingGroup(input: RemoveThingFromThingGroupRequest): Promise<void>;
  listThingsInThingGroup(input: ListThingsInThingGroupRequest): Promise<ListThingsInThingGroupResponse>;
  /** Waits for writes in flight to reach the disk; call before closing the database. */
  close(): Promise<void>;
}

export interface ThingRegistryOptions {
  /** Where a failing membership listener is reported; listeners never undo a committed change. */
  readonly logger?: Logger;
  /** Clock for creation dates (tests). */
  readonly now?: () => Date;
  /** Default `shared-sync`; `sync-per-call` is the benchmark's baseline. */
  readonly durability?: RegistryDurability;
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
  const listing = createThingGroupListing(db, arn);
  const { write, read, close } = createRegistryCommit(db, options.durability);

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
    createThing: (input) => write(() => things.createThing(input)),
    describeThing: (input) => read(() => things.describeThing(input)),
    async updateThing(input) {
      await write(() => things.updateThing(input));
    },
    async deleteThing(input) {
      notify(await write(() => things.deleteThing(input)));
    },
    listThings: (input) => read(() => things.listThings(input)),
    createThingGroup: (input) => write(() => groups.createThingGroup(input)),
    updateThingGroup: (input) => write(() => groups.updateThingGroup(input)),
    async deleteThingGroup(input) {
      notify(await write(() => groups.deleteThingGroup(input)));
    },
    describeThingGroup: (input) => read(() => groups.describeThingGroup(input)),
    listThingGroups: (input) => read(() => listing.listThingGroups(input)),
    listThingGroupsForThing: (input) => read(() => listing.listThingGroupsForThing(input)),
    async addThingToThingGroup(input) {
      notify(await write(() => groups.addThingToThingGroup(input)));
    },
    async removeThingFromThingGroup(input) {
      notify(await write(() => groups.removeThingFromThingGroup(input)));
    },
    listThingsInThingGroup: (input) => read(() => groups.listThingsInThingGroup(input)),
    close,
  };
}

import type {
  AddThingToThingGroupRequest,
  CreateDynamicThingGroupRequest,
  CreateDynamicThingGroupResponse,
  DeleteDynamicThingGroupRequest,
  SearchIndexRequest,
  SearchIndexResponse,
  UpdateDynamicThingGroupRequest,
  UpdateDynamicThingGroupResponse,
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
import { createDynamicThingGroups } from './dynamic-thing-groups.js';
import { createFleetIndex, type FleetIndexSources } from './fleet-index.js';
import { createRegistryCommit, type RegistryDurability, type WriteBatchObserver } from './registry-commit.js';
import { migrateRegistry } from './registry-schema.js';
import { createThingGroupListing } from './thing-group-listing.js';
import { createThingGroupStore } from './thing-group-store.js';
import { createThingStore } from './thing-store.js';

/**
 * The thing registry: things, thing groups and static group membership, in SQLite. Every API method
 * resolves only once its effect is on disk (the writes of one event-loop turn share one commit and fsync, see
 * registry-commit.ts);
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
  searchIndex(input: SearchIndexRequest): Promise<SearchIndexResponse>;
  createDynamicThingGroup(input: CreateDynamicThingGroupRequest): Promise<CreateDynamicThingGroupResponse>;
  updateDynamicThingGroup(input: UpdateDynamicThingGroupRequest): Promise<UpdateDynamicThingGroupResponse>;
  deleteDynamicThingGroup(input: DeleteDynamicThingGroupRequest): Promise<void>;
  /** Where fleet indexing reads classic shadows and connectivity (given once the services exist). */
  connectFleetIndex(sources: FleetIndexSources): void;
  /**
   * Tells the registry that data it indexes but does not own changed for these things — `['shadow']` once a
   * shadow write is on disk, `['connectivity']` on connect/disconnect — so dynamic groups follow.
   */
  indexedDataChanged(thingNames: readonly string[], changed: readonly string[]): void;
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
  /** Told the size of every committed batch of writes (benchmarks). */
  readonly onWriteBatch?: WriteBatchObserver;
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
  const index = createFleetIndex(db);
  const dynamic = createDynamicThingGroups(db, arn, index, now);
  const commit = createRegistryCommit(db, options.durability, options.onWriteBatch);
  const { read, close } = commit;
  const hasDynamicGroups = db.prepare<[], { n: number }>(
    'SELECT count(*) AS n FROM registry_thing_groups WHERE query_string IS NOT NULL',
  );
  /**
   * How many dynamic groups there are, counted again after any registry write: asked on every shadow and
   * connectivity change (thousands a second under the simulator), which a count query each time made a cost.
   */
  let dynamicGroups: number | undefined;
  const dynamicGroupCount = (): number => (dynamicGroups ??= hasDynamicGroups.get()?.n ?? 0);
  const write = async <T>(work: () => T): Promise<T> => {
    try {
      return await commit.write(() => {
        dynamicGroups = undefined;
        return work();
      });
    } finally {
      dynamicGroups = undefined;
    }
  };
  /** A write whose membership changes, static and dynamic, go to the listeners once it is on disk. */
  const writeNotifying = async <T>(work: () => { value: T; changes: MembershipChange[] }): Promise<T> => {
    const { value, changes } = await write(work);
    notify(changes);
    return value;
  };
  /** The things a membership change touched, re-evaluated for dynamic groups that read thingGroupNames. */
  const followGroups = (changes: readonly MembershipChange[]): MembershipChange[] => [
    ...changes,
    ...[...new Set(changes.map((c) => c.thingName))].flatMap((t) => dynamic.reevaluate(t, ['thingGroupNames'])),
  ];

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
    createThing: (input) =>
      writeNotifying(() => {
        const value = things.createThing(input);
        return { value, changes: value.thingName === undefined ? [] : dynamic.reevaluate(value.thingName) };
      }),
    describeThing: (input) => read(() => things.describeThing(input)),
    updateThing: (input) =>
      writeNotifying(() => {
        const { before, after } = things.updateThing(input);
        const names = new Set([...Object.keys(before.attributes), ...Object.keys(after.attributes)]);
        const changed = [...names].filter((n) => before.attributes[n] !== after.attributes[n]);
        return {
          value: undefined,
          changes: dynamic.reevaluate(
            after.thingName,
            changed.map((n) => `attributes.${n}`),
          ),
        };
      }),
    async deleteThing(input) {
      notify(await write(() => things.deleteThing(input)));
    },
    listThings: (input) => read(() => things.listThings(input)),
    createThingGroup: (input) => write(() => groups.createThingGroup(input)),
    updateThingGroup: (input) => write(() => groups.updateThingGroup(input)),
    deleteThingGroup: (input) =>
      writeNotifying(() => ({ value: undefined, changes: followGroups(groups.deleteThingGroup(input)) })),
    describeThingGroup: (input) => read(() => groups.describeThingGroup(input)),
    listThingGroups: (input) => read(() => listing.listThingGroups(input)),
    listThingGroupsForThing: (input) => read(() => listing.listThingGroupsForThing(input)),
    addThingToThingGroup: (input) =>
      writeNotifying(() => ({ value: undefined, changes: followGroups(groups.addThingToThingGroup(input)) })),
    removeThingFromThingGroup: (input) =>
      writeNotifying(() => ({ value: undefined, changes: followGroups(groups.removeThingFromThingGroup(input)) })),
    listThingsInThingGroup: (input) => read(() => groups.listThingsInThingGroup(input)),
    searchIndex: (input) => read(() => index.searchIndex(input)),
    createDynamicThingGroup: (input) =>
      writeNotifying(() => {
        const { response, changes } = dynamic.create(input);
        return { value: response, changes };
      }),
    updateDynamicThingGroup: (input) =>
      writeNotifying(() => {
        const { response, changes } = dynamic.update(input);
        return { value: response, changes };
      }),
    deleteDynamicThingGroup: (input) => writeNotifying(() => ({ value: undefined, changes: dynamic.delete(input) })),
    connectFleetIndex: (sources) => index.connect(sources),
    indexedDataChanged(thingNames, changed) {
      // Most cores have no dynamic group: then a shadow change costs one count of a small table, no write.
      // Called from other services' commit paths: never throws into them.
      const failed = (e: unknown): void =>
        options.logger?.error({ err: e, changed }, 'dynamic thing groups: change not applied');
      try {
        if (thingNames.length === 0 || dynamicGroupCount() === 0) return;
        writeNotifying(() => ({
          value: undefined,
          changes: [...new Set(thingNames)].flatMap((t) => dynamic.reevaluate(t, changed)),
        })).catch(failed);
      } catch (e) {
        failed(e);
      }
    },
    close,
  };
}

/**
 * The thing registry (things, thing groups, membership) as the Jobs service sees it. The control-plane
 * API owns the implementation (registry.ts); the Jobs service only reads it and listens for membership
 * changes, so CONTINUOUS jobs reach things added to a group later.
 */
export interface ThingRecord {
  readonly thingName: string;
  readonly thingArn: string;
  readonly thingId: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly version: number;
}

export interface ThingGroupRecord {
  readonly thingGroupName: string;
  readonly thingGroupArn: string;
  readonly thingGroupId: string;
}

export interface MembershipChange {
  readonly kind: 'added' | 'removed';
  readonly thingName: string;
  readonly thingGroupName: string;
}

export interface ThingRegistryView {
  getThing(thingName: string): ThingRecord | undefined;
  getThingGroup(thingGroupName: string): ThingGroupRecord | undefined;
  /** Thing names that are members of the group now. */
  listThingsInGroup(thingGroupName: string): readonly string[];
  /** Called after the membership change is committed. Returns an unsubscribe function. */
  onMembershipChange(listener: (change: MembershipChange) => void): () => void;
}

/** ARNs as AWS shapes them, for the configured region and account of the local core. */
export interface ArnContext {
  readonly region: string;
  readonly accountId: string;
}

export const thingArn = (c: ArnContext, thingName: string): string =>
  `arn:aws:iot:${c.region}:${c.accountId}:thing/${thingName}`;
export const thingGroupArn = (c: ArnContext, groupName: string): string =>
  `arn:aws:iot:${c.region}:${c.accountId}:thinggroup/${groupName}`;
export const jobArn = (c: ArnContext, jobId: string): string => `arn:aws:iot:${c.region}:${c.accountId}:job/${jobId}`;

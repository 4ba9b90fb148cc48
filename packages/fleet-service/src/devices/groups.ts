import {
  AddThingToThingGroupCommand,
  CreateDynamicThingGroupCommand,
  CreateThingGroupCommand,
  DeleteDynamicThingGroupCommand,
  DeleteThingGroupCommand,
  DescribeThingGroupCommand,
  ListThingGroupsCommand,
  ListThingsInThingGroupCommand,
  RemoveThingFromThingGroupCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';

export interface GroupView {
  readonly groupName: string;
  readonly groupArn: string | undefined;
  readonly kind: 'static' | 'dynamic';
  readonly queryString?: string;
  readonly description?: string;
  readonly parentGroupName?: string;
  readonly status?: string;
  readonly createdAt?: string;
}

export type CreateGroupRequest =
  | {
      readonly kind: 'static';
      readonly groupName: string;
      readonly description?: string;
      readonly parentGroupName?: string;
    }
  | {
      readonly kind: 'dynamic';
      readonly groupName: string;
      readonly description?: string;
      readonly queryString: string;
    };

/** Static and dynamic thing groups, all through the AWS IoT registry (no copy of memberships here). */
export interface Groups {
  create(request: CreateGroupRequest): Promise<GroupView>;
  describe(groupName: string): Promise<GroupView>;
  list(options: { readonly limit: number; readonly nextToken?: string }): Promise<{
    groups: { groupName: string; groupArn: string | undefined }[];
    nextToken?: string;
  }>;
  members(
    groupName: string,
    options: { readonly limit: number; readonly nextToken?: string; readonly recursive?: boolean },
  ): Promise<{ things: string[]; nextToken?: string }>;
  /** Every member, page after page (a group filter of the device listing, a rollout target). */
  allMembers(groupName: string): Promise<string[]>;
  addMember(groupName: string, thingName: string): Promise<void>;
  removeMember(groupName: string, thingName: string): Promise<void>;
  /** Deletes a static or dynamic group (whichever it is). */
  delete(groupName: string): Promise<GroupView>;
}

const MEMBER_PAGE = 250;

export function createGroups(iot: IoTClient): Groups {
  const describe = async (groupName: string): Promise<GroupView> => {
    const d = await iot.send(new DescribeThingGroupCommand({ thingGroupName: groupName }));
    const dynamic = d.queryString !== undefined;
    const props = d.thingGroupProperties;
    const meta = d.thingGroupMetadata;
    return {
      groupName,
      groupArn: d.thingGroupArn,
      kind: dynamic ? 'dynamic' : 'static',
      ...(d.queryString === undefined ? {} : { queryString: d.queryString }),
      ...(props?.thingGroupDescription === undefined ? {} : { description: props.thingGroupDescription }),
      ...(meta?.parentGroupName === undefined ? {} : { parentGroupName: meta.parentGroupName }),
      ...(d.status === undefined ? {} : { status: d.status }),
      ...(meta?.creationDate === undefined ? {} : { createdAt: meta.creationDate.toISOString() }),
    };
  };
  const members: Groups['members'] = async (groupName, o) => {
    const page = await iot.send(
      new ListThingsInThingGroupCommand({
        thingGroupName: groupName,
        maxResults: o.limit,
        recursive: o.recursive ?? false,
        ...(o.nextToken === undefined ? {} : { nextToken: o.nextToken }),
      }),
    );
    return { things: page.things ?? [], ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }) };
  };

  return {
    async create(r) {
      const description =
        r.description === undefined ? undefined : { thingGroupProperties: { thingGroupDescription: r.description } };
      if (r.kind === 'dynamic') {
        await iot.send(
          new CreateDynamicThingGroupCommand({
            thingGroupName: r.groupName,
            queryString: r.queryString,
            ...description,
          }),
        );
      } else {
        await iot.send(
          new CreateThingGroupCommand({
            thingGroupName: r.groupName,
            ...(r.parentGroupName === undefined ? {} : { parentGroupName: r.parentGroupName }),
            ...description,
          }),
        );
      }
      return describe(r.groupName);
    },
    describe,
    async list(o) {
      const out = await iot.send(
        new ListThingGroupsCommand({
          maxResults: o.limit,
          ...(o.nextToken === undefined ? {} : { nextToken: o.nextToken }),
        }),
      );
      return {
        groups: (out.thingGroups ?? []).map((g) => ({ groupName: g.groupName ?? '', groupArn: g.groupArn })),
        ...(out.nextToken === undefined ? {} : { nextToken: out.nextToken }),
      };
    },
    members,
    async allMembers(groupName) {
      const names: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await members(groupName, {
          limit: MEMBER_PAGE,
          recursive: true,
          ...(nextToken === undefined ? {} : { nextToken }),
        });
        names.push(...page.things);
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
      return names;
    },
    async addMember(groupName, thingName) {
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: groupName, thingName }));
    },
    async removeMember(groupName, thingName) {
      await iot.send(new RemoveThingFromThingGroupCommand({ thingGroupName: groupName, thingName }));
    },
    async delete(groupName) {
      const group = await describe(groupName);
      if (group.kind === 'dynamic') await iot.send(new DeleteDynamicThingGroupCommand({ thingGroupName: groupName }));
      else await iot.send(new DeleteThingGroupCommand({ thingGroupName: groupName }));
      return group;
    },
  };
}

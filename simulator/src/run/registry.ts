import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  ListJobExecutionsForJobCommand,
  ListThingsInThingGroupCommand,
  type AddThingToThingGroupCommandInput,
  type CreateThingCommandInput,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { FLEET_GROUP } from '../scenario/rules.js';
import type { PlannedDevice } from '../scenario/expand.js';

/** Runs `work` over `items`, at most `limit` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/** Creates the thing groups (the whole fleet's and each scenario group's). "Already exists" is fine. */
export async function createGroups(iot: IoTClient, groups: readonly string[]): Promise<void> {
  for (const thingGroupName of groups) await iot.send(new CreateThingGroupCommand({ thingGroupName }));
}

/** The two registry writes enrolment needs, in AWS IoT's request shapes. */
export interface Enroller {
  createThing(input: CreateThingCommandInput): Promise<unknown>;
  addThingToThingGroup(input: AddThingToThingGroupCommandInput): Promise<unknown>;
}

/** Enrolment through AWS's own IoT client (SigV4 HTTP): what an operator's tooling does against AWS IoT. */
export const sdkEnroller = (iot: IoTClient): Enroller => ({
  createThing: (input) => iot.send(new CreateThingCommand(input)),
  addThingToThingGroup: (input) => iot.send(new AddThingToThingGroupCommand(input)),
});

/** The thing groups a device joins: the whole fleet's and its scenario group's, as the stack names them. */
export const thingGroupsOf = (d: PlannedDevice, thingGroupOf: (group: string) => string = (g) => g): string[] => [
  ...new Set([thingGroupOf(FLEET_GROUP), thingGroupOf(d.group)]),
];

/**
 * Enrols devices as AWS IoT does it: a thing each (with its hardware type as an attribute), a member of the fleet
 * group and of its scenario group; `concurrency` devices at a time.
 */
export async function enrolDevices(to: Enroller, devices: readonly PlannedDevice[], concurrency = 32): Promise<void> {
  await inParallel(devices, concurrency, async (d) => {
    await to.createThing({
      thingName: d.spec.thingName,
      attributePayload: { attributes: { hardwareType: d.spec.hardwareType } },
    });
    for (const thingGroupName of thingGroupsOf(d)) {
      await to.addThingToThingGroup({ thingGroupName, thingName: d.spec.thingName });
    }
  });
}

/** Every member of a thing group (paged). */
export async function thingsInGroup(iot: IoTClient, thingGroupName: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await iot.send(
      new ListThingsInThingGroupCommand({ thingGroupName, maxResults: 250, ...(nextToken ? { nextToken } : {}) }),
    );
    names.push(...(page.things ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return names;
}

export interface CoreExecution {
  readonly jobId: string;
  readonly thingName: string;
  readonly status: string;
}

/** Every execution of a job as the core's Jobs service has it (paged); none when the job does not exist. */
export async function executionsOf(iot: IoTClient, jobId: string): Promise<CoreExecution[]> {
  const out: CoreExecution[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await iot.send(
        new ListJobExecutionsForJobCommand({ jobId, maxResults: 250, ...(nextToken ? { nextToken } : {}) }),
      );
    } catch (e) {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return out;
      throw e;
    }
    for (const e of page.executionSummaries ?? []) {
      const thingName = e.thingArn?.split('/').pop() ?? '';
      out.push({ jobId, thingName, status: e.jobExecutionSummary?.status ?? 'UNKNOWN' });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return out;
}

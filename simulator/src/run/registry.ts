import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  ListJobExecutionsForJobCommand,
  ListThingsInThingGroupCommand,
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

/**
 * Enrols devices as AWS IoT does it: a thing each (with its hardware type as an attribute), a member of the fleet
 * group and of its scenario group. Through AWS's own client, `concurrency` requests at a time.
 */
export async function enrolDevices(iot: IoTClient, devices: readonly PlannedDevice[], concurrency = 16): Promise<void> {
  await inParallel(devices, concurrency, async ({ spec, group }) => {
    await iot.send(
      new CreateThingCommand({
        thingName: spec.thingName,
        attributePayload: { attributes: { hardwareType: spec.hardwareType } },
      }),
    );
    for (const thingGroupName of [FLEET_GROUP, group]) {
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName, thingName: spec.thingName }));
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

import { CreateDynamicThingGroupCommand, type IoTClient } from '@aws-sdk/client-iot';
import { createHash } from 'node:crypto';
import { isIotError } from './iot-errors.js';

/**
 * A rollout target given as a fleet-indexing query becomes a dynamic thing group, named after the query, so
 * AWS IoT keeps its membership (devices that start matching later join it: late joiners) and the rollout reads
 * it as it reads any group. The same query always maps to the same group.
 */
export const queryGroupName = (queryString: string): string =>
  `ota-q-${createHash('sha256').update(queryString).digest('hex').slice(0, 24)}`;

export async function ensureQueryGroup(iot: IoTClient, queryString: string): Promise<string> {
  const thingGroupName = queryGroupName(queryString);
  try {
    await iot.send(
      new CreateDynamicThingGroupCommand({
        thingGroupName,
        queryString,
        thingGroupProperties: { thingGroupDescription: `rollout target: ${queryString}`.slice(0, 2028) },
      }),
    );
  } catch (e) {
    if (!isIotError(e, 'ResourceAlreadyExistsException')) throw e;
  }
  return thingGroupName;
}

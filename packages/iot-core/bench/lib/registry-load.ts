import { AddThingToThingGroupCommand, CreateThingCommand, type IoTClient } from '@aws-sdk/client-iot';

export interface BulkRegistration {
  /** Things `reg-first … reg-(first+count-1)`. */
  readonly count: number;
  /** Index of the first thing (default 0), so several processes can share one registration. */
  readonly first?: number;
  /** Calls in flight at once (each worker runs one thing's two calls after each other). */
  readonly inFlight: number;
  /** Thing groups the things are spread over, round robin; they must exist. */
  readonly groups: readonly string[];
  /** Called once both calls for a thing have been answered with success. */
  readonly onRegistered?: (thingName: string, groupName: string) => void;
}

export const bulkThingName = (i: number): string => `reg-${i}`;
export const bulkGroupOf = (i: number, groups: readonly string[]): string => groups[i % groups.length] ?? '';

/**
 * Registers things the way a provisioning script does with @aws-sdk/client-iot: CreateThing, then
 * AddThingToThingGroup, `inFlight` workers pulling the next thing. Rejects on the first failed call.
 */
export async function registerInBulk(client: IoTClient, job: BulkRegistration): Promise<void> {
  const first = job.first ?? 0;
  const end = first + job.count;
  let next = first;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < end; i = next++) {
      const thingName = bulkThingName(i);
      const thingGroupName = bulkGroupOf(i, job.groups);
      await client.send(new CreateThingCommand({ thingName, attributePayload: { attributes: { n: String(i) } } }));
      await client.send(new AddThingToThingGroupCommand({ thingName, thingGroupName }));
      job.onRegistered?.(thingName, thingGroupName);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.inFlight) }, worker));
}

/** Counts the registry's committed write batches (ThingRegistryOptions.onWriteBatch): how well calls share commits. */
export class BatchCounter {
  private batches = 0;
  private writes = 0;
  readonly observe = (writes: number): void => {
    this.batches += 1;
    this.writes += writes;
  };
  reset(): void {
    this.batches = this.writes = 0;
  }
  /** Mean writes per committed batch, one decimal. */
  mean(): number {
    return this.batches === 0 ? 0 : Math.round((this.writes / this.batches) * 10) / 10;
  }
}

import {
  AddThingToThingGroupCommand,
  CancelJobCommand,
  CreateJobCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  DescribeThingGroupCommand,
  type IoTClient,
  type JobExecutionsRolloutConfig,
  type JobProcessDetails,
  type MaintenanceWindow,
} from '@aws-sdk/client-iot';
import type { JobPresignedUrlConfig } from '../bundles/types.js';
import type { WaveInstallCounts } from '../rollout/health-gate.js';

/**
 * How a rollout maps onto AWS IoT: each wave is a static thing group holding its devices and one CONTINUOUS job
 * targeting that group — so a device added to the wave later (a late joiner) gets the job without a new one.
 * Names derive from the rollout id and wave index, so every call here is safe to repeat after a crash.
 */
export const waveGroupName = (rolloutId: string, wave: number): string => `ota-${rolloutId}-w${wave}`;
export const waveJobId = (rolloutId: string, wave: number): string => `ota-${rolloutId}-w${wave}`;
export const rollbackJobId = (rolloutId: string): string => `ota-${rolloutId}-rollback`;

const errorName = (e: unknown): string => (e instanceof Error ? e.name : '');

/** Creates the wave's thing group if needed; its ARN either way. */
export async function ensureWaveGroup(iot: IoTClient, rolloutId: string, wave: number): Promise<string> {
  const thingGroupName = waveGroupName(rolloutId, wave);
  try {
    const created = await iot.send(
      new CreateThingGroupCommand({
        thingGroupName,
        thingGroupProperties: { thingGroupDescription: `wave ${wave} of rollout ${rolloutId}` },
      }),
    );
    if (created.thingGroupArn !== undefined) return created.thingGroupArn;
  } catch (e) {
    if (errorName(e) !== 'ResourceAlreadyExistsException') throw e;
  }
  const described = await iot.send(new DescribeThingGroupCommand({ thingGroupName }));
  if (described.thingGroupArn === undefined) throw new Error(`thing group ${thingGroupName} has no ARN`);
  return described.thingGroupArn;
}

/** Adds devices to the wave's group, a few calls in flight at a time; adding one already there is a no-op. */
export async function addToWaveGroup(
  iot: IoTClient,
  rolloutId: string,
  wave: number,
  thingNames: readonly string[],
  concurrency = 16,
): Promise<void> {
  const thingGroupName = waveGroupName(rolloutId, wave);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < thingNames.length) {
      const thingName = thingNames[next++];
      if (thingName !== undefined) await iot.send(new AddThingToThingGroupCommand({ thingGroupName, thingName }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, thingNames.length) }, worker));
}

export interface JobSpec {
  readonly jobId: string;
  readonly targets: readonly string[];
  readonly document: string;
  readonly description: string;
  readonly continuous: boolean;
  readonly maxPerMinute?: number;
  /** The whole rollout config (maximum and exponential rate); wins over maxPerMinute. */
  readonly rolloutConfig?: JobExecutionsRolloutConfig;
  /** schedulingConfig.maintenanceWindows: executions are released only inside one (AWS form, UTC). */
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  readonly inProgressTimeoutMinutes?: number;
  readonly presignedUrlConfig?: JobPresignedUrlConfig;
}

/** Creates the job unless it exists (a restart after the create, before the journal noticed). */
export async function ensureJob(iot: IoTClient, spec: JobSpec): Promise<void> {
  try {
    await iot.send(
      new CreateJobCommand({
        jobId: spec.jobId,
        targets: [...spec.targets],
        document: spec.document,
        description: spec.description,
        targetSelection: spec.continuous ? 'CONTINUOUS' : 'SNAPSHOT',
        ...(spec.rolloutConfig !== undefined
          ? { jobExecutionsRolloutConfig: spec.rolloutConfig }
          : spec.maxPerMinute === undefined
            ? {}
            : { jobExecutionsRolloutConfig: { maximumPerMinute: spec.maxPerMinute } }),
        ...(spec.maintenanceWindows === undefined || spec.maintenanceWindows.length === 0
          ? {}
          : { schedulingConfig: { maintenanceWindows: spec.maintenanceWindows.map((w) => ({ ...w })) } }),
        ...(spec.inProgressTimeoutMinutes === undefined
          ? {}
          : { timeoutConfig: { inProgressTimeoutInMinutes: spec.inProgressTimeoutMinutes } }),
        ...(spec.presignedUrlConfig === undefined ? {} : { presignedUrlConfig: { ...spec.presignedUrlConfig } }),
      }),
    );
  } catch (e) {
    if (errorName(e) !== 'ResourceAlreadyExistsException') throw e;
  }
}

/** The job's execution counts as the gate reads them. */
export async function jobCounts(iot: IoTClient, jobId: string): Promise<WaveInstallCounts> {
  return (await jobState(iot, jobId)).counts;
}

/** The counts and the job's status: SCHEDULED while a maintenance window is closed. */
export async function jobState(
  iot: IoTClient,
  jobId: string,
): Promise<{
  readonly counts: WaveInstallCounts;
  readonly status: string | undefined;
  readonly lastUpdatedAt: number | undefined;
}> {
  const out = await iot.send(new DescribeJobCommand({ jobId }));
  return {
    counts: countsOf(out.job?.jobProcessDetails ?? {}),
    status: out.job?.status,
    lastUpdatedAt: out.job?.lastUpdatedAt?.getTime(),
  };
}

export function countsOf(d: JobProcessDetails): WaveInstallCounts {
  const n = (v: number | undefined): number => v ?? 0;
  const failed =
    n(d.numberOfFailedThings) +
    n(d.numberOfTimedOutThings) +
    n(d.numberOfRejectedThings) +
    n(d.numberOfRemovedThings) +
    n(d.numberOfCanceledThings);
  const queued = n(d.numberOfQueuedThings);
  const inProgress = n(d.numberOfInProgressThings);
  const succeeded = n(d.numberOfSucceededThings);
  return { targeted: queued + inProgress + succeeded + failed, queued, inProgress, succeeded, failed };
}

/**
 * Stops a wave's job: queued executions are canceled; executions already in progress are left to finish
 * (force=false) — an agent mid-install ends on a good slot by itself, where a forced cancel would leave its job
 * status untrue. A job already canceled or finished is fine.
 */
export async function cancelJob(iot: IoTClient, jobId: string, comment: string): Promise<void> {
  try {
    await iot.send(new CancelJobCommand({ jobId, comment: comment.slice(0, 2028), force: false }));
  } catch (e) {
    const name = errorName(e);
    if (name !== 'ResourceNotFoundException' && name !== 'InvalidRequestException') throw e;
  }
}

import type { JobProcessDetails } from '@aws-sdk/client-iot';
import { THING_NAME } from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';
import type { ArnContext, ThingRegistryView } from '../registry-types.js';
import type { JobRecord } from './model.js';
import type { StatusCounts } from './store.js';

export type Target =
  { readonly kind: 'thing'; readonly name: string } | { readonly kind: 'group'; readonly name: string };

// Thing and thing-group names share THING_NAME's rule.
const ARN = new RegExp(
  `^arn:aws:iot:([^:]+):([^:]+):(thing|thinggroup)/(${THING_NAME.chars}{${THING_NAME.minLength},${THING_NAME.maxLength}})$`,
);

/** Reads a job target: a thing ARN or a thing-group ARN of this core's region and account. */
export function parseTarget(arnCtx: ArnContext, target: string): Target {
  const m = ARN.exec(target);
  if (m === null) throw new AwsServiceError('InvalidRequestException', 400, `Invalid target ARN: ${target}`);
  const [, region, account, type, name] = m;
  if (region !== arnCtx.region || account !== arnCtx.accountId)
    throw new AwsServiceError(
      'InvalidRequestException',
      400,
      `Target ${target} is not in ${arnCtx.region}/${arnCtx.accountId}`,
    );
  return { kind: type === 'thing' ? 'thing' : 'group', name: name ?? '' };
}

/** The thing names a job's targets resolve to now (each once). Unknown things or groups are 404. */
export function resolveTargets(registry: ThingRegistryView, arnCtx: ArnContext, targets: readonly string[]): string[] {
  const things = new Set<string>();
  for (const t of targets) {
    const target = parseTarget(arnCtx, t);
    if (target.kind === 'thing') {
      if (registry.getThing(target.name) === undefined)
        throw new AwsServiceError('ResourceNotFoundException', 404, `Thing ${target.name} does not exist`);
      things.add(target.name);
    } else {
      if (registry.getThingGroup(target.name) === undefined)
        throw new AwsServiceError('ResourceNotFoundException', 404, `Thing group ${target.name} does not exist`);
      for (const name of registry.listThingsInGroup(target.name)) things.add(name);
    }
  }
  return [...things];
}

export const targetsGroup = (registry: ThingRegistryView, job: JobRecord, groupName: string): boolean => {
  const arn = registry.getThingGroup(groupName)?.thingGroupArn;
  return job.targets.some((t) => t === arn || t.endsWith(`:thinggroup/${groupName}`));
};

/** Is `thingName` still a target of the job other than through `exceptGroup`? */
export function stillTargeted(
  registry: ThingRegistryView,
  arnCtx: ArnContext,
  job: JobRecord,
  thingName: string,
  exceptGroup: string,
): boolean {
  return job.targets.some((t) => {
    const target = parseTarget(arnCtx, t);
    if (target.kind === 'thing') return target.name === thingName;
    return target.name !== exceptGroup && registry.listThingsInGroup(target.name).includes(thingName);
  });
}

/** DescribeJob's jobProcessDetails from the job's per-status counts (a query, not every execution read). */
export function jobProcessDetails(job: JobRecord, counts: StatusCounts, anyUnreleased: boolean): JobProcessDetails {
  const n = (s: keyof StatusCounts): number => counts[s] ?? 0;
  return {
    processingTargets: anyUnreleased ? [...job.targets] : [],
    numberOfCanceledThings: n('CANCELED'),
    numberOfSucceededThings: n('SUCCEEDED'),
    numberOfFailedThings: n('FAILED'),
    numberOfRejectedThings: n('REJECTED'),
    numberOfQueuedThings: n('QUEUED'),
    numberOfInProgressThings: n('IN_PROGRESS'),
    numberOfRemovedThings: n('REMOVED'),
    numberOfTimedOutThings: n('TIMED_OUT'),
  };
}

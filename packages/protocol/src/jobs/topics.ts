import { err, ok, type Result } from '../result.js';
import { isValidJobId, isValidThingName, NEXT_JOB_ID } from './names.js';

/**
 * The Jobs device MQTT API topics.
 * https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html
 */
export type JobsOperation =
  | { readonly name: 'GetPendingJobExecutions' }
  | { readonly name: 'StartNextPendingJobExecution' }
  /** jobId may be `$next`. */
  | { readonly name: 'DescribeJobExecution'; readonly jobId: string }
  | { readonly name: 'UpdateJobExecution'; readonly jobId: string };

export type JobsOutcome = 'accepted' | 'rejected';

export type JobsTopic =
  | { readonly kind: 'request'; readonly thingName: string; readonly operation: JobsOperation }
  | {
      readonly kind: 'response';
      readonly thingName: string;
      readonly operation: JobsOperation;
      readonly outcome: JobsOutcome;
    }
  | { readonly kind: 'notify'; readonly thingName: string }
  | { readonly kind: 'notify-next'; readonly thingName: string };

export interface InvalidTopicError {
  readonly code: 'InvalidTopic';
  readonly message: string;
  /** Set when the topic named a valid thing, so a rejection can still be addressed to it. */
  readonly thingName?: string;
}

const PREFIX = '$aws/things/';
/** The filter a Jobs service subscribes to; every device request topic matches it. */
export const JOBS_REQUEST_FILTER = '$aws/things/+/jobs/#';

const jobsPrefix = (thingName: string): string => `${PREFIX}${thingName}/jobs`;

export function jobsRequestTopic(thingName: string, operation: JobsOperation): string {
  const base = jobsPrefix(thingName);
  switch (operation.name) {
    case 'GetPendingJobExecutions':
      return `${base}/get`;
    case 'StartNextPendingJobExecution':
      return `${base}/start-next`;
    case 'DescribeJobExecution':
      return `${base}/${operation.jobId}/get`;
    case 'UpdateJobExecution':
      return `${base}/${operation.jobId}/update`;
  }
}

export const jobsResponseTopic = (thingName: string, operation: JobsOperation, outcome: JobsOutcome): string =>
  `${jobsRequestTopic(thingName, operation)}/${outcome}`;
/**
 * Both answers (accepted, rejected) to `operation` in one filter: `.../start-next/+`; with jobId `+`, every
 * job's (`.../+/get/+`). It matches no request topic, so a subscriber never gets its own requests back.
 */
export const jobsAnswersFilter = (thingName: string, operation: JobsOperation): string =>
  `${jobsRequestTopic(thingName, operation)}/+`;
/**
 * The topic of an answer to a request received on `requestTopic`: AWS answers on the request topic plus
 * `/accepted` or `/rejected`, so a service that has the request topic need not rebuild it from its parts.
 */
export const jobsAnswerTopic = (requestTopic: string, outcome: JobsOutcome): string => `${requestTopic}/${outcome}`;
export const jobsNotifyTopic = (thingName: string): string => `${jobsPrefix(thingName)}/notify`;
export const jobsNotifyNextTopic = (thingName: string): string => `${jobsPrefix(thingName)}/notify-next`;

const invalid = (message: string, thingName?: string): { readonly ok: false; readonly error: InvalidTopicError } =>
  err(thingName === undefined ? { code: 'InvalidTopic', message } : { code: 'InvalidTopic', message, thingName });

/** The request an exact topic names (the first three segments: thing name, `jobs` prefix). */
function parseOperation(rest: readonly string[]): JobsOperation | string {
  const [a, b] = rest;
  if (rest.length === 1 && a === 'get') return { name: 'GetPendingJobExecutions' };
  if (rest.length === 1 && a === 'start-next') return { name: 'StartNextPendingJobExecution' };
  if (rest.length === 2 && a !== undefined && (b === 'get' || b === 'update')) {
    if (b === 'get' && a === NEXT_JOB_ID) return { name: 'DescribeJobExecution', jobId: a };
    if (!isValidJobId(a)) return `Invalid jobId: ${a}`;
    return b === 'get' ? { name: 'DescribeJobExecution', jobId: a } : { name: 'UpdateJobExecution', jobId: a };
  }
  return 'The request was sent to a topic in the AWS IoT Jobs namespace that does not map to any API operation.';
}

/** Parses any topic under `$aws/things/{thing}/jobs/`. Never throws. */
export function parseJobsTopic(topic: string): Result<JobsTopic, InvalidTopicError> {
  if (!topic.startsWith(PREFIX)) return invalid(`Not a Jobs topic: ${topic}`);
  const parts = topic.slice(PREFIX.length).split('/');
  const [thingName, jobs, ...rest] = parts;
  if (thingName === undefined || jobs !== 'jobs') return invalid(`Not a Jobs topic: ${topic}`);
  if (!isValidThingName(thingName)) return invalid(`Invalid thing name: ${thingName}`);
  if (rest.length === 1 && rest[0] === 'notify') return ok({ kind: 'notify', thingName });
  if (rest.length === 1 && rest[0] === 'notify-next') return ok({ kind: 'notify-next', thingName });
  const last = rest[rest.length - 1];
  if (last === 'accepted' || last === 'rejected') {
    const operation = parseOperation(rest.slice(0, -1));
    if (typeof operation === 'string') return invalid(operation, thingName);
    return ok({ kind: 'response', thingName, operation, outcome: last });
  }
  const operation = parseOperation(rest);
  if (typeof operation === 'string') return invalid(operation, thingName);
  return ok({ kind: 'request', thingName, operation });
}

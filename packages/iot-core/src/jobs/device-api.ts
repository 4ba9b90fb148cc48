import {
  deviceExecutionEvent,
  isTerminalStatus,
  jobsError,
  jobsErrorResponse,
  jobsResponseTopic,
  NEXT_JOB_ID,
  parseJobsRequest,
  parseJobsTopic,
  type MqttDescribeJobExecutionResponse,
  type GetPendingJobExecutionsResponse,
  type JobsError,
  type JobsOperation,
  type JobsRequest,
  type StartNextPendingJobExecutionResponse,
  type UpdateJobExecutionResponse,
} from '@otafleet/protocol';
import type { InboundMessage } from '@otafleet/mqtt-client';
import type { JobsEngine, TxChanges } from './engine.js';
import { executionState, executionSummary, jobExecution, seconds, type Outbound } from './wire.js';
import type { ExecutionRecord } from './model.js';

type Reply = { readonly ok: true; readonly body: object } | { readonly ok: false; readonly error: JobsError };

const accepted = (body: object): Reply => ({ ok: true, body });
const rejected = (error: JobsError): Reply => ({ ok: false, error });

/** Stamps a reply for the requester: Jobs responses go only to the client that asked. */
function replyMessage(
  thingName: string,
  operation: JobsOperation,
  reply: Reply,
  now: number,
  clientId: string | undefined,
): Outbound {
  const outcome = reply.ok ? 'accepted' : 'rejected';
  const payload = reply.ok ? reply.body : jobsErrorResponse(reply.error, seconds(now));
  return { topic: jobsResponseTopic(thingName, operation, outcome), payload: JSON.stringify(payload), clientId };
}

/**
 * The Jobs device MQTT API: turns one inbound message into the changes and the reply it causes, inside the
 * caller's transaction. https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html
 */
export class DeviceApi {
  constructor(private readonly engine: JobsEngine) {}

  /** Handles one message; returns false when the topic is not a Jobs request (our own responses, notify). */
  handle(tx: TxChanges, message: InboundMessage): boolean {
    const topic = parseJobsTopic(message.topic);
    const now = this.engine.now();
    if (!topic.ok) {
      // AWS answers an unknown Jobs topic on `<topic>/rejected` when it can name the thing.
      if (topic.error.thingName === undefined || /\/(accepted|rejected)$/.test(message.topic)) return false;
      const error = jobsError('InvalidTopic', { message: topic.error.message });
      tx.outbound.push({
        topic: `${message.topic}/rejected`,
        payload: JSON.stringify(jobsErrorResponse(error, seconds(now))),
        clientId: message.clientId,
      });
      return true;
    }
    if (topic.value.kind !== 'request') return false;
    const { thingName, operation } = topic.value;
    const request = parseJobsRequest(operation, message.payload);
    const reply = request.ok ? this.dispatch(tx, thingName, request.value) : rejected(request.error);
    tx.outbound.push(replyMessage(thingName, operation, reply, now, message.clientId));
    return true;
  }

  /** The rejection to send when a request could not be processed at all (its transaction failed). */
  internalError(message: InboundMessage): Outbound | undefined {
    const topic = parseJobsTopic(message.topic);
    if (!topic.ok || topic.value.kind !== 'request') return undefined;
    const request = parseJobsRequest(topic.value.operation, message.payload);
    const clientToken = request.ok ? request.value.body.clientToken : undefined;
    const reply = rejected(jobsError('InternalError', { clientToken }));
    return replyMessage(topic.value.thingName, topic.value.operation, reply, this.engine.now(), message.clientId);
  }

  private dispatch(tx: TxChanges, thingName: string, request: JobsRequest): Reply {
    switch (request.operation) {
      case 'GetPendingJobExecutions':
        return this.getPending(thingName, request.body.clientToken);
      case 'StartNextPendingJobExecution':
        return this.startNext(tx, thingName, request.body);
      case 'DescribeJobExecution':
        return this.describe(thingName, request.jobId, request.body);
      case 'UpdateJobExecution':
        return this.update(tx, thingName, request.jobId, request.body);
    }
  }

  private getPending(thingName: string, clientToken: string | undefined): Reply {
    const pending = this.engine.store.pendingForThing(thingName);
    const body: GetPendingJobExecutionsResponse = {
      inProgressJobs: pending.filter((e) => e.status === 'IN_PROGRESS').map(executionSummary),
      queuedJobs: pending.filter((e) => e.status === 'QUEUED').map(executionSummary),
      timestamp: seconds(this.engine.now()),
      ...(clientToken !== undefined ? { clientToken } : {}),
    };
    return accepted(body);
  }

  private startNext(
    tx: TxChanges,
    thingName: string,
    body: Extract<JobsRequest, { operation: 'StartNextPendingJobExecution' }>['body'],
  ): Reply {
    const now = this.engine.now();
    let next = this.engine.store.pendingForThing(thingName)[0];
    if (next !== undefined && next.status === 'QUEUED') {
      next =
        this.engine.changeStatus(tx, next, {
          event: 'device-in-progress',
          statusDetails: body.statusDetails,
          stepTimeoutInMinutes: body.stepTimeoutInMinutes,
        }) ?? next;
    }
    const response: StartNextPendingJobExecutionResponse = {
      ...(next !== undefined ? { execution: jobExecution(next, this.engine.documentFor(next.jobId), now) } : {}),
      timestamp: seconds(now),
      ...(body.clientToken !== undefined ? { clientToken: body.clientToken } : {}),
    };
    return accepted(response);
  }

  /** The execution a device may see: released by the rollout, latest or the numbered one. */
  private visible(thingName: string, jobId: string, executionNumber: number | undefined): ExecutionRecord | undefined {
    const e = this.engine.store.execution(jobId, thingName, executionNumber);
    return e !== undefined && e.released ? e : undefined;
  }

  private describe(
    thingName: string,
    jobId: string,
    body: Extract<JobsRequest, { operation: 'DescribeJobExecution' }>['body'],
  ): Reply {
    const now = this.engine.now();
    const clientToken = body.clientToken;
    const e =
      jobId === NEXT_JOB_ID
        ? this.engine.store.pendingForThing(thingName)[0]
        : this.visible(thingName, jobId, body.executionNumber);
    if (e === undefined && jobId !== NEXT_JOB_ID) return rejected(jobsError('ResourceNotFound', { clientToken }));
    // "TerminalStateReached: a command to describe a job is performed on a job that is in a terminal state."
    // https://docs.aws.amazon.com/iot/latest/developerguide/jobs-api.html#jobs-mqtt-error-response
    if (e !== undefined && isTerminalStatus(e.status))
      return rejected(jobsError('TerminalStateReached', { clientToken }));
    const response: MqttDescribeJobExecutionResponse = {
      ...(e !== undefined
        ? {
            execution: jobExecution(
              e,
              (body.includeJobDocument ?? true) ? this.engine.documentFor(e.jobId) : undefined,
              now,
            ),
          }
        : {}),
      timestamp: seconds(now),
      ...(clientToken !== undefined ? { clientToken } : {}),
    };
    return accepted(response);
  }

  private update(
    tx: TxChanges,
    thingName: string,
    jobId: string,
    body: Extract<JobsRequest, { operation: 'UpdateJobExecution' }>['body'],
  ): Reply {
    const clientToken = body.clientToken;
    const e = this.visible(thingName, jobId, body.executionNumber);
    if (e === undefined) return rejected(jobsError('ResourceNotFound', { clientToken }));
    if (body.expectedVersion !== undefined && body.expectedVersion !== e.versionNumber)
      return rejected(jobsError('VersionMismatch', { clientToken, executionState: executionState(e) }));
    const updated = this.engine.changeStatus(tx, e, {
      event: deviceExecutionEvent(body.status),
      statusDetails: body.statusDetails,
      stepTimeoutInMinutes: body.stepTimeoutInMinutes,
    });
    if (updated === undefined)
      return rejected(
        jobsError('InvalidStateTransition', {
          clientToken,
          executionState: executionState(e),
          message: `Job execution ${jobId} for thing ${thingName} is ${e.status} and cannot be updated to ${body.status}`,
        }),
      );
    const jobDocument = body.includeJobDocument === true ? this.engine.documentFor(jobId) : undefined;
    const response: UpdateJobExecutionResponse = {
      ...(body.includeJobExecutionState === true ? { executionState: executionState(updated) } : {}),
      ...(jobDocument !== undefined ? { jobDocument } : {}),
      timestamp: seconds(this.engine.now()),
      ...(clientToken !== undefined ? { clientToken } : {}),
    };
    return accepted(response);
  }
}

import { randomUUID } from 'node:crypto';
import {
  isTerminalStatus,
  JOB_EXECUTION_EVENT_OPERATIONS,
  jobEventTopic,
  jobExecutionEventTopic,
  type JobEventOperation,
  type JobEventPayload,
  type JobExecutionEventPayload,
} from '@otafleet/protocol';
import { thingArn, type ArnContext, type ThingRegistryView } from '../registry-types.js';
import type { EventConfigurations } from './event-configurations.js';
import type { ExecutionRecord, JobRecord } from './model.js';
import type { StatusCounts } from './store.js';
import { seconds, type Outbound } from './wire.js';

/** Builds the Jobs events AWS publishes on `$aws/events/job…`, when the event configuration enables them. */
export class JobEvents {
  constructor(
    private readonly config: EventConfigurations,
    private readonly registry: ThingRegistryView,
    private readonly arn: ArnContext,
  ) {}

  /** `$aws/events/jobExecution/{jobId}/{status}` for an execution that just became terminal. */
  executionEnded(e: ExecutionRecord, now: number): Outbound | undefined {
    if (!this.config.isEnabled('JOB_EXECUTION') || !isTerminalStatus(e.status) || e.status === 'QUEUED')
      return undefined;
    const operation = JOB_EXECUTION_EVENT_OPERATIONS[e.status as keyof typeof JOB_EXECUTION_EVENT_OPERATIONS];
    const body: JobExecutionEventPayload = {
      eventType: 'JOB_EXECUTION',
      eventId: randomUUID(),
      timestamp: seconds(now),
      operation,
      jobId: e.jobId,
      thingArn: this.registry.getThing(e.thingName)?.thingArn ?? thingArn(this.arn, e.thingName),
      status: e.status,
      ...(e.statusDetails !== undefined ? { statusDetails: e.statusDetails } : {}),
    };
    return { topic: jobExecutionEventTopic(e.jobId, operation), payload: JSON.stringify(body) };
  }

  /** `$aws/events/job/{jobId}/completed|canceled|deleted`. */
  jobEnded(job: JobRecord, operation: JobEventOperation, counts: StatusCounts, now: number): Outbound | undefined {
    if (!this.config.isEnabled('JOB')) return undefined;
    const n = (s: keyof StatusCounts): number => counts[s] ?? 0;
    const body: JobEventPayload = {
      eventType: 'JOB',
      eventId: randomUUID(),
      timestamp: seconds(now),
      operation,
      jobId: job.jobId,
      status: job.status,
      targetSelection: job.targetSelection,
      targets: job.targets,
      ...(job.description !== undefined ? { description: job.description } : {}),
      ...(job.comment !== undefined ? { comment: job.comment } : {}),
      ...(job.reasonCode !== undefined ? { reasonCode: job.reasonCode } : {}),
      createdAt: job.createdAt,
      lastUpdatedAt: job.lastUpdatedAt,
      ...(job.completedAt !== undefined ? { completedAt: job.completedAt } : {}),
      jobProcessDetails: {
        numberOfCanceledThings: n('CANCELED'),
        numberOfRejectedThings: n('REJECTED'),
        numberOfFailedThings: n('FAILED'),
        numberOfRemovedThings: n('REMOVED'),
        numberOfSucceededThings: n('SUCCEEDED'),
        numberOfTimedOutThings: n('TIMED_OUT'),
      },
    };
    return { topic: jobEventTopic(job.jobId, operation), payload: JSON.stringify(body) };
  }
}

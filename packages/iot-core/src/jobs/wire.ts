import {
  jobsNotifyNextTopic,
  jobsNotifyTopic,
  type MqttJobExecution,
  type JobExecutionsChangedEvent,
  type JobExecutionState,
  type MqttJobExecutionSummary,
  type NextJobExecutionChangedEvent,
} from '@otafleet/protocol';
import type { ExecutionRecord } from './model.js';
import { timeoutAt } from './model.js';

/** Jobs MQTT timestamps are epoch seconds. */
export const seconds = (ms: number): number => Math.floor(ms / 1000);

export const executionState = (e: ExecutionRecord): JobExecutionState => ({
  status: e.status,
  ...(e.statusDetails !== undefined ? { statusDetails: e.statusDetails } : {}),
  versionNumber: e.versionNumber,
});

export const executionSummary = (e: ExecutionRecord): MqttJobExecutionSummary => ({
  jobId: e.jobId,
  queuedAt: seconds(e.queuedAt),
  ...(e.startedAt !== undefined ? { startedAt: seconds(e.startedAt) } : {}),
  lastUpdatedAt: seconds(e.lastUpdatedAt),
  versionNumber: e.versionNumber,
  executionNumber: e.executionNumber,
});

/** `jobDocument` is the document as the device reads it (placeholders substituted), or undefined to leave it out. */
export function jobExecution(
  e: ExecutionRecord,
  jobDocument: Readonly<Record<string, unknown>> | undefined,
  now: number,
): MqttJobExecution {
  const deadline = e.status === 'IN_PROGRESS' ? timeoutAt(e) : undefined;
  return {
    jobId: e.jobId,
    thingName: e.thingName,
    ...(jobDocument !== undefined ? { jobDocument } : {}),
    status: e.status,
    ...(e.statusDetails !== undefined ? { statusDetails: e.statusDetails } : {}),
    queuedAt: seconds(e.queuedAt),
    ...(e.startedAt !== undefined ? { startedAt: seconds(e.startedAt) } : {}),
    lastUpdatedAt: seconds(e.lastUpdatedAt),
    versionNumber: e.versionNumber,
    executionNumber: e.executionNumber,
    ...(deadline !== undefined
      ? { approximateSecondsBeforeTimedOut: Math.max(0, Math.ceil((deadline - now) / 1000)) }
      : {}),
  };
}

export interface Outbound {
  readonly topic: string;
  readonly payload: string;
  /** Deliver to this MQTT client only (Jobs accepted/rejected responses). */
  readonly clientId?: string | undefined;
}

export function notifyMessage(thingName: string, pending: readonly ExecutionRecord[], now: number): Outbound {
  const inProgress = pending.filter((e) => e.status === 'IN_PROGRESS').map(executionSummary);
  const queued = pending.filter((e) => e.status === 'QUEUED').map(executionSummary);
  const body: JobExecutionsChangedEvent = {
    timestamp: seconds(now),
    jobs: {
      ...(inProgress.length > 0 ? { IN_PROGRESS: inProgress } : {}),
      ...(queued.length > 0 ? { QUEUED: queued } : {}),
    },
  };
  return { topic: jobsNotifyTopic(thingName), payload: JSON.stringify(body) };
}

export function notifyNextMessage(
  thingName: string,
  next: ExecutionRecord | undefined,
  jobDocument: Readonly<Record<string, unknown>> | undefined,
  now: number,
): Outbound {
  const body: NextJobExecutionChangedEvent = {
    timestamp: seconds(now),
    ...(next !== undefined ? { execution: jobExecution(next, jobDocument, now) } : {}),
  };
  return { topic: jobsNotifyNextTopic(thingName), payload: JSON.stringify(body) };
}

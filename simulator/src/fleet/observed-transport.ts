import type { MqttTransport, TransportSession } from '@otafleet/mqtt-client';
import { healthReportTopic, parseJobsTopic } from '@otafleet/protocol';

/** What follows the thing name in protocol's health topic ('/health'). */
const HEALTH_SUFFIX = healthReportTopic('x').slice(healthReportTopic('x').lastIndexOf('/x/') + 2);

/** What a device's traffic says about it: PUBLISH counts and the job statuses it reported. */
export interface TrafficLog {
  messagesIn: number;
  messagesOut: number;
  /** Health reports published (the telemetry health topic). */
  healthReports: number;
  /** Latest reported status per job (in publish order). */
  readonly jobs: Map<string, { status: string; reasonCode?: string }>;
  readonly rollbacks: { jobId: string; reasonCode: string }[];
}

export const emptyTrafficLog = (): TrafficLog => ({
  messagesIn: 0,
  messagesOut: 0,
  healthReports: 0,
  jobs: new Map(),
  rollbacks: [],
});

function noteJobUpdate(log: TrafficLog, topic: string, payload: Buffer | string): void {
  const parsed = parseJobsTopic(topic);
  if (!parsed.ok || parsed.value.kind !== 'request' || parsed.value.operation.name !== 'UpdateJobExecution') return;
  const jobId = parsed.value.operation.jobId;
  let body: { status?: unknown; statusDetails?: Record<string, unknown> };
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')) as typeof body;
  } catch {
    return;
  }
  if (typeof body.status !== 'string') return;
  const reasonCode = body.statusDetails?.['reasonCode'];
  const entry = { status: body.status, ...(typeof reasonCode === 'string' ? { reasonCode } : {}) };
  log.jobs.set(jobId, entry);
  if (body.statusDetails?.['phase'] === 'rolled-back' && !log.rollbacks.some((r) => r.jobId === jobId)) {
    log.rollbacks.push({ jobId, reasonCode: typeof reasonCode === 'string' ? reasonCode : 'UNKNOWN' });
  }
}

/** The agent's transport, counting what passes (the connection, backoff and routing above it are the agent's own). */
export function observedTransport(inner: MqttTransport, log: TrafficLog): MqttTransport {
  return {
    kind: inner.kind,
    endpoint: inner.endpoint,
    async open(request, events, signal): Promise<TransportSession> {
      const session = await inner.open(
        request,
        {
          message: (p) => {
            log.messagesIn += 1;
            return events.message(p);
          },
          lost: (reason) => events.lost(reason),
        },
        signal,
      );
      return {
        protocolVersion: session.protocolVersion,
        sessionPresent: session.sessionPresent,
        acksAfterHandler: session.acksAfterHandler,
        subscribe: (f, q) => session.subscribe(f, q),
        unsubscribe: (f) => session.unsubscribe(f),
        publish: (topic, payload, qos) => {
          log.messagesOut += 1;
          if (topic.endsWith('/update')) noteJobUpdate(log, topic, payload);
          else if (topic.endsWith(HEALTH_SUFFIX)) log.healthReports += 1;
          return session.publish(topic, payload, qos);
        },
        end: () => session.end(),
        destroy: () => session.destroy(),
      };
    },
  };
}

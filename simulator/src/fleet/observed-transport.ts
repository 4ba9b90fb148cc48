import type {
  MqttTransport,
  SessionEvents,
  SessionRequest,
  SubscribeOutcome,
  SubscriptionRequest,
  TransportSession,
} from '@otafleet/mqtt-client';
import { healthReportTopic, parseJobsTopic } from '@otafleet/protocol';

/** What follows the thing name in protocol's health topic ('/health'). */
const HEALTH_SUFFIX = healthReportTopic('x').slice(healthReportTopic('x').lastIndexOf('/x/') + 2);

/** Told when messagesIn or healthReports leaves 0 (the fleet's tally reads both: pushed, not polled). */
export interface TrafficWatcher {
  trafficStarted(): void;
}

/** What a device's traffic says about it: PUBLISH counts and the job statuses it reported. */
export interface TrafficLog {
  messagesIn: number;
  messagesOut: number;
  /** Health reports published (the telemetry health topic). */
  healthReports: number;
  /** Latest reported status per job (in publish order). */
  readonly jobs: Map<string, { status: string; reasonCode?: string }>;
  readonly rollbacks: { jobId: string; reasonCode: string }[];
  readonly watcher: TrafficWatcher | undefined;
}

export const emptyTrafficLog = (watcher?: TrafficWatcher): TrafficLog => ({
  messagesIn: 0,
  messagesOut: 0,
  healthReports: 0,
  jobs: new Map(),
  rollbacks: [],
  watcher,
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

/** A session that counts what it publishes. A class (shared methods): one lives per connected device. */
class ObservedSession implements TransportSession {
  readonly #inner: TransportSession;
  readonly #log: TrafficLog;

  constructor(inner: TransportSession, log: TrafficLog) {
    this.#inner = inner;
    this.#log = log;
  }

  get protocolVersion(): TransportSession['protocolVersion'] {
    return this.#inner.protocolVersion;
  }
  get sessionPresent(): boolean {
    return this.#inner.sessionPresent;
  }
  get acksAfterHandler(): boolean {
    return this.#inner.acksAfterHandler;
  }
  subscribe(requests: readonly SubscriptionRequest[]): Promise<readonly SubscribeOutcome[]> {
    return this.#inner.subscribe(requests);
  }
  unsubscribe(filter: string): Promise<void> {
    return this.#inner.unsubscribe(filter);
  }
  publish(topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void> {
    const log = this.#log;
    log.messagesOut += 1;
    if (topic.endsWith('/update')) noteJobUpdate(log, topic, payload);
    else if (topic.endsWith(HEALTH_SUFFIX)) {
      log.healthReports += 1;
      if (log.healthReports === 1) log.watcher?.trafficStarted();
    }
    return this.#inner.publish(topic, payload, qos);
  }
  end(): Promise<void> {
    return this.#inner.end();
  }
  destroy(): void {
    this.#inner.destroy();
  }
}

/** The agent's transport, counting what passes (the connection, backoff and routing above it are the agent's own). */
class ObservedTransport implements MqttTransport {
  readonly #inner: MqttTransport;
  readonly #log: TrafficLog;

  constructor(inner: MqttTransport, log: TrafficLog) {
    this.#inner = inner;
    this.#log = log;
  }

  get kind(): string {
    return this.#inner.kind;
  }
  get endpoint(): string {
    return this.#inner.endpoint;
  }

  async open(request: SessionRequest, events: SessionEvents, signal: AbortSignal): Promise<TransportSession> {
    const log = this.#log;
    const session = await this.#inner.open(
      request,
      {
        message: (p) => {
          log.messagesIn += 1;
          if (log.messagesIn === 1) log.watcher?.trafficStarted();
          return events.message(p);
        },
        lost: (reason) => events.lost(reason),
      },
      signal,
    );
    return new ObservedSession(session, log);
  }
}

export const observedTransport = (inner: MqttTransport, log: TrafficLog): MqttTransport =>
  new ObservedTransport(inner, log);

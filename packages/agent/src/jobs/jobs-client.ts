import {
  compileValidator,
  DescribeJobExecutionResponseSchema,
  JobsErrorResponseSchema,
  jobsNotifyNextTopic,
  jobsRequestTopic,
  jobsAnswersFilter,
  NEXT_JOB_ID,
  NextJobExecutionChangedEventSchema,
  parseJobsTopic,
  parseJsonPayload,
  StartNextPendingJobExecutionResponseSchema,
  UpdateJobExecutionResponseSchema,
  type MqttJobExecution,
  type JobsErrorResponse,
  type JobsOperation,
  type StatusDetails,
  type UpdateJobExecutionRequest,
  type UpdateJobExecutionResponse,
} from '@otafleet/protocol';
import type { Clock, InboundMessage, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { OnceUntilRejected } from '../once-until-rejected.js';
import { ANSWER_SUBSCRIPTION, PendingRequests } from '../pending-requests.js';

/** The Jobs service did not answer in time (a dropped connection loses the answer): ask again. */
export class JobsRequestTimeout extends Error {
  override readonly name = 'JobsRequestTimeout';
}

export type JobsAnswer<T> =
  | { readonly kind: 'accepted'; readonly response: T }
  | { readonly kind: 'rejected'; readonly error: JobsErrorResponse };

const MAX_RESPONSE_BYTES = 128 * 1024;
const validators = {
  startNext: compileValidator(StartNextPendingJobExecutionResponseSchema),
  describe: compileValidator(DescribeJobExecutionResponseSchema),
  update: compileValidator(UpdateJobExecutionResponseSchema),
  rejected: compileValidator(JobsErrorResponseSchema),
  next: compileValidator(NextJobExecutionChangedEventSchema),
};

type RequestKind = 'startNext' | 'describe' | 'update';

/** Each request kind's operation, with `+` for any job: its answers filter. */
const ANSWERED_OPERATIONS: Readonly<Record<RequestKind, JobsOperation>> = {
  startNext: { name: 'StartNextPendingJobExecution' },
  describe: { name: 'DescribeJobExecution', jobId: '+' },
  update: { name: 'UpdateJobExecution', jobId: '+' },
};

export interface JobsClientOptions {
  readonly connection: MqttConnection;
  readonly thingName: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long an answer may take before the request counts as lost (default 15 s). */
  readonly requestTimeoutMs?: number;
}

/**
 * The device side of the AWS IoT Jobs MQTT API: requests with a clientToken, answers matched by it (AWS sends
 * accepted/rejected only to the requester), notify-next passed to a listener. Every payload is validated with
 * protocol's schemas; one that does not validate is logged and dropped (its request then times out).
 * Handlers only settle promises: nothing here waits on the connection from inside a message handler.
 */
export class JobsClient {
  readonly #o: JobsClientOptions;
  readonly #pending: PendingRequests<RequestKind, JobsAnswer<unknown>>;
  readonly #nextListeners = new Set<(execution: MqttJobExecution | undefined) => void>();
  readonly #handler = (m: InboundMessage): void => this.#onMessage(m);
  /** Each operation's answers filter, subscribed before its first request (describe's at start). */
  readonly #answers: Readonly<Record<RequestKind, OnceUntilRejected>> = {
    startNext: new OnceUntilRejected(),
    describe: new OnceUntilRejected(),
    update: new OnceUntilRejected(),
  };

  constructor(options: JobsClientOptions) {
    this.#o = options;
    this.#pending = new PendingRequests({
      connection: options.connection,
      clock: options.clock,
      timeoutMs: options.requestTimeoutMs ?? 15_000,
      lost: (message) => new JobsRequestTimeout(message),
    });
  }

  /**
   * Subscribes to notify-next and to DescribeJobExecution's answers (every boot asks for `$next`); resolves once the
   * broker granted them. The answers of StartNextPendingJobExecution and UpdateJobExecution are subscribed to before
   * the first such request: an idle device holds two filters, not four, for as long as it is connected. One filter
   * per operation with both outcomes in it (seven with one per outcome).
   */
  async start(): Promise<void> {
    const { connection, thingName } = this.#o;
    await Promise.all([
      this.#answersOf('describe'),
      connection.subscribe(jobsNotifyNextTopic(thingName), this.#handler),
    ]);
  }

  /** The answers filter of one operation, subscribed once (again after a failed attempt). */
  #answersOf(kind: RequestKind): Promise<void> {
    const { connection, thingName } = this.#o;
    return this.#answers[kind].run(() =>
      connection.subscribe(jobsAnswersFilter(thingName, ANSWERED_OPERATIONS[kind]), this.#handler, ANSWER_SUBSCRIPTION),
    );
  }

  /** Called with the next pending execution whenever it changes (undefined: nothing pending). */
  onNextChanged(listener: (execution: MqttJobExecution | undefined) => void): () => void {
    this.#nextListeners.add(listener);
    return () => this.#nextListeners.delete(listener);
  }

  /** StartNextPendingJobExecution: the next pending execution, now IN_PROGRESS, or undefined. */
  async startNext(statusDetails?: StatusDetails): Promise<JobsAnswer<MqttJobExecution | undefined>> {
    const answer = await this.#request(
      'startNext',
      { name: 'StartNextPendingJobExecution' },
      {
        ...(statusDetails === undefined ? {} : { statusDetails }),
      },
    );
    if (answer.kind === 'rejected') return answer;
    return { kind: 'accepted', response: (answer.response as { execution?: MqttJobExecution }).execution };
  }

  /** DescribeJobExecution (jobId or `$next`), with its job document. */
  async describe(jobId: string, includeJobDocument = true): Promise<JobsAnswer<MqttJobExecution | undefined>> {
    const answer = await this.#request('describe', { name: 'DescribeJobExecution', jobId }, { includeJobDocument });
    if (answer.kind === 'rejected') return answer;
    return { kind: 'accepted', response: (answer.response as { execution?: MqttJobExecution }).execution };
  }

  describeNext(): Promise<JobsAnswer<MqttJobExecution | undefined>> {
    return this.describe(NEXT_JOB_ID);
  }

  async update(
    jobId: string,
    body: Omit<UpdateJobExecutionRequest, 'clientToken'>,
  ): Promise<JobsAnswer<UpdateJobExecutionResponse>> {
    return (await this.#request(
      'update',
      { name: 'UpdateJobExecution', jobId },
      body,
    )) as JobsAnswer<UpdateJobExecutionResponse>;
  }

  /** Rejects every request still waiting (the connection is closing). */
  close(): void {
    this.#pending.close('the Jobs client closed');
  }

  async #request(kind: RequestKind, op: JobsOperation, body: object): Promise<JobsAnswer<unknown>> {
    const { thingName } = this.#o;
    await this.#answersOf(kind);
    return this.#pending.ask(jobsRequestTopic(thingName, op), body, kind, op.name);
  }

  #onMessage(m: InboundMessage): void {
    const topic = parseJobsTopic(m.topic);
    if (!topic.ok || topic.value.thingName !== this.#o.thingName) return;
    const json = parseJsonPayload(m.payload, MAX_RESPONSE_BYTES);
    if (!json.ok) {
      this.#o.logger.warn({ topic: m.topic, error: json.error }, 'jobs message is not JSON; ignored');
      return;
    }
    const t = topic.value;
    if (t.kind === 'notify-next') {
      const event = validators.next.validate(json.value);
      if (!event.ok) {
        this.#o.logger.warn({ topic: m.topic, issues: event.error }, 'invalid notify-next; ignored');
        return;
      }
      for (const l of this.#nextListeners) l(event.value.execution);
      return;
    }
    if (t.kind !== 'response') return;
    const token = (json.value as { clientToken?: unknown }).clientToken;
    const kind = this.#pending.metaOf(token);
    if (kind === undefined) return; // another run's answer, or one that came after its timeout
    const validator = t.outcome === 'rejected' ? validators.rejected : validators[kind];
    const checked = validator.validate(json.value);
    if (!checked.ok) {
      this.#o.logger.warn({ topic: m.topic, issues: checked.error }, 'invalid Jobs answer; ignored');
      return;
    }
    this.#pending.settle(
      token as string,
      t.outcome === 'rejected'
        ? { kind: 'rejected', error: checked.value as JobsErrorResponse }
        : { kind: 'accepted', response: checked.value },
    );
  }
}

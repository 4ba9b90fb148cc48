import {
  jobDocumentReasonCode,
  otaReasonInfo,
  otaStatusDetails,
  parseOtaJobDocument,
  type MqttJobExecution,
  type LastUpdate,
  type OtaComponent,
  type OtaJobOperation,
  type OtaPhase,
} from '@otafleet/protocol';
import type { ConnectionState } from '@otafleet/mqtt-client';
import type { UpdateStatus } from '../contracts.js';
import type { UpdateContext } from '../update/context.js';
import { rememberCommittedSlot } from '../update/committed-releases.js';
import { runUpdateFlow } from '../update/machine.js';
import type { UpdateRecord } from '../update/record.js';
import { decideRecovery } from '../update/recovery.js';
import type { UpdateStateName } from '../update/states.js';
import { nextUpdateState } from '../update/transitions.js';
import { isTrialRunning, type SlotBackend, type SlotState } from '../slots/index.js';
import type { BundleInstaller } from '../update/ports.js';
import type { JobReporter } from './job-reporter.js';
import { JobsRequestTimeout, type JobsClient } from './jobs-client.js';

/** The agent's own slots (self-update under the launcher): jobs of component `agent` run on these. */
export interface AgentSelfUpdate {
  readonly slots: SlotBackend;
  readonly installer: BundleInstaller;
  /** The agent slots at this start (the launcher's boot step). */
  readonly bootSlots: SlotState;
}

export interface JobsRunnerOptions {
  /** The application's flow context (component `application`). */
  readonly ctx: Omit<UpdateContext, 'status' | 'onPhase' | 'brokerConnected'>;
  readonly agentSelf?: AgentSelfUpdate;
  readonly jobs: JobsClient;
  readonly reporter: JobReporter;
  readonly connection: { readonly state: ConnectionState; onStateChange(l: (s: ConnectionState) => void): () => void };
  /** What the slots said at this start (`recordBootAttempt()`), before anything else ran. */
  readonly bootSlots: SlotState;
  /** Pause before asking again after a lost answer (default 5 s). */
  readonly retryDelayMs?: number;
  /**
   * Told once an update's outcome (lastUpdate, the rollback count) is set, after the flow's last step: the reported
   * state and the health report carry it, and nothing else announces it.
   */
  readonly onOutcome?: () => void;
}

/** States whose job is already reporting its end: a cancel seen now changes nothing. */
const ENDING: ReadonlySet<UpdateStateName> = new Set([
  'ReportingSuccess',
  'Committing',
  'RollingBack',
  'ReportingFailure',
  'ReportingDownloaded',
  'Canceling',
]);

/** Device meta keys the runner keeps (the CLI's rollback and status read and write the same). */
export const META_LAST_UPDATE = 'lastUpdate';
export const META_ROLLBACKS = 'rollbackCount';

/**
 * The Jobs runner: finishes the job the journal holds (recovery first), then takes the next pending execution
 * (StartNextPendingJobExecution) on every connect and every notify-next, runs it through the update flow, and the
 * next queued one after it. Duplicate notifications are ignored; a notify-next (or a reconnect) that shows the
 * running execution is no longer pending cancels it.
 */
export class JobsRunner {
  readonly #o: JobsRunnerOptions;
  readonly #stop = new AbortController();
  #cancel: AbortController | undefined;
  #current:
    | {
        jobId: string;
        executionNumber: number;
        operation: OtaJobOperation;
        phase: OtaPhase;
        state: UpdateStateName;
        toVersion?: string;
        progress?: number;
      }
    | undefined;
  #lastUpdate: LastUpdate | undefined;
  #rollbacks = 0;
  readonly #finished = new Set<string>();
  #wake: (() => void) | undefined;
  #pendingWake = true;
  #main: Promise<void> | undefined;
  readonly #unsubscribers: (() => void)[] = [];

  constructor(options: JobsRunnerOptions) {
    this.#o = options;
  }

  /** The snapshot the device-facing parts read. */
  status(): UpdateStatus {
    const c = this.#current;
    return {
      current:
        c === undefined
          ? undefined
          : {
              jobId: c.jobId,
              operation: c.operation,
              phase: c.phase,
              ...(c.toVersion === undefined ? {} : { toVersion: c.toVersion }),
              ...(c.progress === undefined ? {} : { progress: c.progress }),
            },
      lastUpdate: this.#lastUpdate,
      rollbackCount: this.#rollbacks,
    };
  }

  async start(): Promise<void> {
    const { journal } = this.#o.ctx;
    const last = await journal.getMeta(META_LAST_UPDATE);
    if (last !== undefined) this.#lastUpdate = JSON.parse(last) as LastUpdate;
    this.#rollbacks = Number((await journal.getMeta(META_ROLLBACKS)) ?? 0);
    await rememberCommittedSlot(journal, this.#o.bootSlots);
    this.#unsubscribers.push(
      this.#o.connection.onStateChange((s) => {
        if (s.kind === 'connected') {
          this.#poke();
          void this.#checkStillPending();
        }
      }),
      this.#o.jobs.onNextChanged((execution) => {
        this.#poke();
        void this.#checkStillPending(execution);
      }),
      this.#o.reporter.onTerminal((jobId) => {
        if (this.#current?.jobId === jobId) this.#cancelCurrent();
      }),
    );
    this.#main = this.#run();
  }

  /** Stops taking work; the job in flight stops at a journaled state (the next start resumes it). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#poke();
    for (const u of this.#unsubscribers.splice(0)) u();
    await this.#main;
  }

  #poke(): void {
    this.#pendingWake = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #idle(ms?: number): Promise<void> {
    if (this.#pendingWake || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const { clock } = this.#o.ctx;
      const timer = ms === undefined ? undefined : clock.setTimeout(() => this.#poke(), ms);
      this.#wake = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const { ctx } = this.#o;
    try {
      await this.#resumeJournaled();
      while (!this.#stop.signal.aborted) {
        await this.#idle();
        this.#pendingWake = false;
        if (this.#stop.signal.aborted) break;
        if (this.#o.connection.state.kind !== 'connected') continue;
        const execution = await this.#nextExecution();
        if (execution === 'retry') {
          this.#pendingWake = false;
          await this.#idle(this.#o.retryDelayMs ?? 5_000);
          this.#pendingWake = true;
          continue;
        }
        if (execution === undefined) continue;
        await this.#take(execution.execution, execution.startedBefore);
        this.#pendingWake = true; // the next queued job, if any
      }
    } catch (e) {
      ctx.logger.error({ err: e }, 'jobs runner stopped by an unexpected error');
    }
  }

  /** The job the journal holds: recovery decides, then the flow continues from there. */
  async #resumeJournaled(): Promise<void> {
    const { ctx } = this.#o;
    // The whole journal was unreadable: whatever trial the slots hold, nothing vouches for it.
    if (ctx.journal.reset !== undefined) await this.#safeSlots();
    const loaded = await ctx.journal.loadUpdate();
    const self = this.#o.agentSelf;
    if (
      self !== undefined &&
      isTrialRunning(self.bootSlots) &&
      loaded.kind === 'ok' &&
      loaded.record.document.component !== 'agent'
    ) {
      // A new agent runs on trial, yet no agent job vouches for it: back to the committed agent.
      ctx.logger.error({ slot: self.bootSlots.booted }, 'an agent trial runs without an agent job; going back');
      await this.#safeSlots(self.slots);
      return;
    }
    if (loaded.kind === 'none') {
      if (self !== undefined && isTrialRunning(self.bootSlots)) {
        ctx.logger.error({ slot: self.bootSlots.booted }, 'an agent trial runs without an agent job; going back');
        await this.#safeSlots(self.slots);
      }
      return;
    }
    if (loaded.kind === 'corrupt') {
      ctx.logger.error({ jobId: loaded.jobId, detail: loaded.detail }, 'journaled update is corrupt');
      await ctx.journal.clearUpdate();
      await this.#safeSlots();
      if (loaded.jobId !== undefined) await this.#reportJournalCorrupt(loaded.jobId, 0, loaded.detail);
      return;
    }
    let record: UpdateRecord = { ...loaded.record, starts: loaded.record.starts + 1 };
    const part = this.#forComponent(record.document.component);
    const decision = decideRecovery({
      record,
      slots: part.bootSlots,
      activation: part.ctx.slots.activation,
      maxStarts: ctx.limits.maxStarts,
      now: ctx.clock.now(),
    });
    ctx.logger.info({ jobId: record.jobId, state: record.state, decision }, 'resuming the journaled update');
    if (decision.kind === 'event') {
      const next = nextUpdateState(record.state, decision.event);
      if (next !== undefined) record = { ...record, ...decision.patch, state: next };
    }
    await this.#runRecord(record);
  }

  /** The flow context and boot-step state for a job's component (the agent's own slots for `agent`). */
  #forComponent(component: OtaComponent): {
    readonly ctx: Omit<UpdateContext, 'status' | 'onPhase' | 'brokerConnected'>;
    readonly bootSlots: SlotState;
  } {
    const self = this.#o.agentSelf;
    if (component !== 'agent' || self === undefined) return { ctx: this.#o.ctx, bootSlots: this.#o.bootSlots };
    return {
      ctx: { ...this.#o.ctx, component: 'agent', slots: self.slots, installer: self.installer },
      bootSlots: self.bootSlots,
    };
  }

  /**
   * Never leaves a trial armed on the strength of a record we could not read: back to the committed slot (of the
   * application, and of the agent itself, whose way back restarts this process).
   */
  async #safeSlots(slots: SlotBackend | undefined = undefined): Promise<void> {
    if (slots === undefined) {
      await this.#safeSlots(this.#o.ctx.slots);
      if (this.#o.agentSelf !== undefined) await this.#safeSlots(this.#o.agentSelf.slots);
      return;
    }
    const { logger } = this.#o.ctx;
    try {
      let s = await slots.state();
      if (s.trial !== undefined) s = await slots.rollback();
      if (s.booted !== s.committed) await slots.activate();
    } catch (e) {
      logger.error({ err: e }, 'could not return to the committed slot');
    }
  }

  async #reportJournalCorrupt(jobId: string, executionNumber: number, detail: string): Promise<void> {
    const id = await this.#o.reporter.report({
      jobId,
      executionNumber,
      status: 'FAILED',
      statusDetails: otaStatusDetails({ phase: 'failed', reasonCode: 'JOURNAL_CORRUPT', reason: detail }),
    });
    await this.#untilDelivered(id);
  }

  async #untilDelivered(id: number): Promise<void> {
    const stopped = new Promise<void>((resolve) =>
      this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await Promise.race([this.#o.reporter.delivered(id), stopped]);
  }

  /** The next execution to work on, started (IN_PROGRESS); undefined when none; 'retry' after a lost answer. */
  async #nextExecution(): Promise<{ execution: MqttJobExecution; startedBefore: boolean } | undefined | 'retry'> {
    const { jobs } = this.#o;
    try {
      const peek = await jobs.describeNext();
      if (peek.kind === 'rejected') return 'retry';
      const next = peek.response;
      if (next === undefined) return undefined;
      if (this.#finished.has(key(next.jobId, next.executionNumber))) return undefined;
      const started = await jobs.startNext();
      if (started.kind === 'rejected') return 'retry';
      const execution = started.response;
      if (execution === undefined) return undefined;
      // Was it IN_PROGRESS before we asked? Then an earlier run of this agent started it.
      return { execution, startedBefore: next.jobId === execution.jobId && next.status === 'IN_PROGRESS' };
    } catch (e) {
      if (!(e instanceof JobsRequestTimeout)) this.#o.ctx.logger.warn({ err: e }, 'asking for the next job failed');
      return 'retry';
    }
  }

  async #take(execution: MqttJobExecution, startedBefore: boolean): Promise<void> {
    const { ctx } = this.#o;
    const k = key(execution.jobId, execution.executionNumber);
    if (startedBefore && ctx.journal.reset !== undefined) {
      // We were on this job, but the journal that knew how far is gone.
      this.#finished.add(k);
      await this.#reportJournalCorrupt(
        execution.jobId,
        execution.executionNumber,
        `journal unreadable: ${ctx.journal.reset.detail}`,
      );
      return;
    }
    const parsed = parseOtaJobDocument(execution.jobDocument ?? {});
    if (!parsed.ok) {
      this.#finished.add(k);
      const reasonCode = jobDocumentReasonCode(parsed.error);
      const status = otaReasonInfo(reasonCode).executionStatus === 'REJECTED' ? 'REJECTED' : 'FAILED';
      ctx.logger.warn({ jobId: execution.jobId, reasonCode, error: parsed.error.message }, 'job document refused');
      const id = await this.#o.reporter.report({
        jobId: execution.jobId,
        executionNumber: execution.executionNumber,
        status,
        statusDetails: otaStatusDetails({ phase: 'failed', reasonCode, reason: parsed.error.message }),
      });
      await this.#untilDelivered(id);
      return;
    }
    const slots = await this.#forComponent(parsed.value.component).ctx.slots.state();
    const installed = slots.versions[slots.committed];
    const record: UpdateRecord = {
      jobId: execution.jobId,
      executionNumber: execution.executionNumber,
      state: 'Accepted',
      saves: 0,
      starts: 0,
      document: parsed.value,
      attempt: 1,
      acceptedAt: ctx.clock.now(),
      fromSlot: slots.committed,
      ...(installed === undefined ? {} : { fromVersion: installed.version }),
    };
    await this.#o.reporter.rememberVersion(execution.jobId, execution.executionNumber, execution.versionNumber);
    ctx.logger.info(
      { jobId: execution.jobId, executionNumber: execution.executionNumber, versionNumber: execution.versionNumber },
      'job started',
    );
    await this.#runRecord(record);
  }

  async #runRecord(record: UpdateRecord): Promise<void> {
    const { ctx } = this.#forComponent(record.document.component);
    const cancel = new AbortController();
    this.#cancel = cancel;
    this.#current = {
      jobId: record.jobId,
      executionNumber: record.executionNumber,
      phase: 'queued',
      operation: record.document.operation,
      state: record.state,
      ...(record.toVersion === undefined ? {} : { toVersion: record.toVersion }),
    };
    const fullCtx: UpdateContext = {
      ...ctx,
      brokerConnected: () => this.#o.connection.state.kind === 'connected',
      status: {
        report: (u) => this.#o.reporter.report(u),
        delivered: (id) => this.#o.reporter.delivered(id),
        describeDocument: async (jobId) => {
          const answer = await this.#o.jobs.describe(jobId, true);
          if (answer.kind === 'rejected') throw new Error(`DescribeJobExecution refused: ${answer.error.code}`);
          return answer.response?.jobDocument;
        },
      },
      onPhase: (jobId, phase, extra) => {
        if (this.#current?.jobId !== jobId) return;
        this.#current = { ...this.#current, phase, ...extra };
      },
      onStep: async (step) => {
        if (this.#current !== undefined && step.startsWith('state:'))
          this.#current.state = step.slice(6) as UpdateStateName;
        await ctx.onStep(step);
      },
    };
    try {
      const end = await runUpdateFlow(fullCtx, record, { cancel: cancel.signal, stop: this.#stop.signal });
      if (end.kind === 'stopped') return;
      this.#finished.add(key(record.jobId, record.executionNumber));
      await ctx.journal.setMeta(META_LAST_UPDATE, JSON.stringify(end.lastUpdate));
      if (end.rolledBack) {
        this.#rollbacks += 1;
        await ctx.journal.setMeta(META_ROLLBACKS, String(this.#rollbacks));
      }
      this.#lastUpdate = end.lastUpdate;
      this.#o.onOutcome?.();
      if (!end.keepBundle) await ctx.fetcher.discard(record.jobId);
      await ctx.journal.clearUpdate();
      ctx.logger.info({ jobId: record.jobId, lastUpdate: end.lastUpdate }, 'update finished');
    } finally {
      this.#current = undefined;
      this.#cancel = undefined;
    }
  }

  #cancelCurrent(): void {
    const c = this.#current;
    if (c === undefined || ENDING.has(c.state)) return;
    this.#o.ctx.logger.warn({ jobId: c.jobId, state: c.state }, 'the running job is no longer pending: canceling it');
    this.#cancel?.abort();
  }

  /** After a notify-next or a reconnect: is the running execution still pending at the Jobs service? */
  async #checkStillPending(next?: MqttJobExecution): Promise<void> {
    const c = this.#current;
    if (c === undefined || ENDING.has(c.state)) return;
    if (next !== undefined && next.jobId === c.jobId && next.executionNumber === c.executionNumber) return;
    try {
      const answer = await this.#o.jobs.describe(c.jobId, false);
      const gone =
        answer.kind === 'rejected'
          ? answer.error.code === 'TerminalStateReached' || answer.error.code === 'ResourceNotFound'
          : answer.response === undefined ||
            answer.response.executionNumber !== c.executionNumber ||
            !['QUEUED', 'IN_PROGRESS'].includes(answer.response.status);
      if (gone && this.#current === c) this.#cancelCurrent();
    } catch (e) {
      if (!(e instanceof JobsRequestTimeout)) this.#o.ctx.logger.warn({ err: e }, 'checking the running job failed');
    }
  }
}

const key = (jobId: string, executionNumber: number): string => `${jobId}#${executionNumber}`;

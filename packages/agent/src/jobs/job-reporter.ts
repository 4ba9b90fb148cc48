import { isTerminalStatus, type JobExecutionState, type JobExecutionStatus } from '@otafleet/protocol';
import type { Clock, ConnectionState } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { AgentJournal, QueuedJobUpdate, StoredJobUpdate } from '../journal/types.js';
import { JobsRequestTimeout, type JobsClient } from './jobs-client.js';
import { LoopWakeup } from '../wakeup.js';

/** How a queued update ended: applied by the Jobs service, or the execution was already terminal. */
export type JobUpdateOutcome =
  /**
   * `accepted`: answered /accepted; `already-held`: the execution already held it (our answer was lost);
   * `superseded`: a later IN_PROGRESS update of the job replaced it unsent; `dropped`: refused as malformed.
   */
  | { readonly kind: 'applied'; readonly via: 'accepted' | 'already-held' | 'superseded' | 'dropped' }
  /** `status` undefined: terminal, but the service would not say which (DescribeJobExecution's TerminalStateReached). */
  | { readonly kind: 'terminal'; readonly status: JobExecutionStatus | undefined };

export interface JobReporterOptions {
  readonly journal: AgentJournal;
  readonly jobs: JobsClient;
  readonly connection: { readonly state: ConnectionState; onStateChange(l: (s: ConnectionState) => void): () => void };
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause between attempts after a throttle, an internal error or a lost answer (default 2 s). */
  readonly retryDelayMs?: number;
}

const versionKey = (jobId: string, executionNumber: number): string => `jobVersion:${jobId}:${executionNumber}`;

const sameDetails = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>): boolean => {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a?.[k] === b[k]);
};

/** The execution already holds what the update asks for: an answer of ours was lost. */
const holds = (state: JobExecutionState | undefined, u: QueuedJobUpdate): boolean =>
  state !== undefined && state.status === u.status && sameDetails(state.statusDetails, u.statusDetails);

/**
 * Job execution updates through the journal: written first (`report` resolves once on disk), sent one at a time
 * in order once connected, deleted only once the Jobs service answered. Each carries `expectedVersion`; a queued
 * update that went stale (its answer lost in a drop, or the execution changed meanwhile) is reconciled, never sent
 * blindly again: a VersionMismatch brings the execution's state — if it already holds this update, it was applied;
 * if it is terminal, the update is dropped and the terminal status passed on; otherwise it is sent again on the
 * new version. Superseded IN_PROGRESS updates of a job are dropped unsent (AWS replaces statusDetails whole).
 */
export class JobReporter {
  readonly #o: JobReporterOptions;
  readonly #waiters = new Map<number, ((o: JobUpdateOutcome) => void)[]>();
  readonly #terminalListeners = new Set<(jobId: string, status: JobExecutionStatus | undefined) => void>();
  readonly #wakeup: LoopWakeup;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #unsubscribe: () => void;

  constructor(options: JobReporterOptions) {
    this.#o = options;
    this.#wakeup = new LoopWakeup(options.clock);
    this.#unsubscribe = options.connection.onStateChange((s) => {
      if (s.kind === 'connected') this.#wakeup.kick();
    });
  }

  /** Starts delivering what the journal holds (also what a previous run left). */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Journals the update; it is delivered in order after everything queued before it. */
  async report(update: QueuedJobUpdate): Promise<number> {
    const id = await this.#o.journal.enqueueJobUpdate(update);
    this.#wakeup.kick();
    return id;
  }

  /** Resolves once the queued update `id` was applied or found terminal. */
  delivered(id: number): Promise<JobUpdateOutcome> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
      this.#wakeup.kick();
    });
  }

  /** Whether an update is still queued (not yet answered). */
  async isQueued(id: number): Promise<boolean> {
    return (await this.#o.journal.pendingJobUpdates()).some((u) => u.id === id);
  }

  /** Called when an update finds the execution terminal by someone else's doing (canceled, timed out, removed). */
  onTerminal(listener: (jobId: string, status: JobExecutionStatus | undefined) => void): () => void {
    this.#terminalListeners.add(listener);
    return () => this.#terminalListeners.delete(listener);
  }

  /** The execution's version as last seen (for a caller that builds its own request). */
  async knownVersion(jobId: string, executionNumber: number): Promise<number | undefined> {
    const v = await this.#o.journal.getMeta(versionKey(jobId, executionNumber));
    return v === undefined ? undefined : Number(v);
  }

  async rememberVersion(jobId: string, executionNumber: number, version: number): Promise<void> {
    await this.#o.journal.setMeta(versionKey(jobId, executionNumber), String(version));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#wakeup.kick();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      let queue: readonly StoredJobUpdate[];
      try {
        queue = await this.#o.journal.pendingJobUpdates();
      } catch (e) {
        this.#o.logger.error({ err: e }, 'job update queue unreadable');
        await this.#wakeup.sleep(this.#o.retryDelayMs ?? 2_000);
        continue;
      }
      const head = queue[0];
      if (head === undefined || this.#o.connection.state.kind !== 'connected') {
        await this.#wakeup.sleep();
        continue;
      }
      const superseded = head.status === 'IN_PROGRESS' && queue.some((u) => u.id > head.id && u.jobId === head.jobId);
      if (superseded) {
        await this.#finish(head, { kind: 'applied', via: 'superseded' });
        continue;
      }
      const outcome = await this.#deliver(head).catch((e: unknown) => {
        if (!(e instanceof JobsRequestTimeout)) this.#o.logger.warn({ err: e, jobId: head.jobId }, 'job update failed');
        return undefined;
      });
      if (outcome === undefined) await this.#wakeup.sleep(this.#o.retryDelayMs ?? 2_000);
      else await this.#finish(head, outcome);
    }
  }

  async #finish(u: StoredJobUpdate, outcome: JobUpdateOutcome): Promise<void> {
    await this.#o.journal.deleteJobUpdate(u.id);
    this.#o.logger.info({ updateId: u.id, jobId: u.jobId, status: u.status, outcome }, 'job update delivered');
    if (outcome.kind === 'terminal' && outcome.status !== u.status) {
      for (const l of this.#terminalListeners) l(u.jobId, outcome.status);
    }
    const waiters = this.#waiters.get(u.id) ?? [];
    this.#waiters.delete(u.id);
    for (const w of waiters) w(outcome);
  }

  /** One attempt; undefined: try again later (lost answer, throttled, service error). */
  async #deliver(u: StoredJobUpdate): Promise<JobUpdateOutcome | undefined> {
    const { jobs, logger } = this.#o;
    const expectedVersion = await this.knownVersion(u.jobId, u.executionNumber);
    const answer = await jobs.update(u.jobId, {
      status: u.status,
      statusDetails: { ...u.statusDetails },
      // 0: not known (a job named only by a corrupt journal row): the latest execution.
      ...(u.executionNumber > 0 ? { executionNumber: u.executionNumber } : {}),
      includeJobExecutionState: true,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    if (answer.kind === 'accepted') {
      const state = answer.response.executionState;
      if (state !== undefined) await this.rememberVersion(u.jobId, u.executionNumber, state.versionNumber);
      return { kind: 'applied', via: 'accepted' };
    }
    const { error } = answer;
    switch (error.code) {
      case 'VersionMismatch':
      case 'InvalidStateTransition': {
        const state = error.executionState;
        if (state === undefined) return this.#reconcile(u);
        if (holds(state, u)) return { kind: 'applied', via: 'already-held' };
        if (isTerminalStatus(state.status)) return { kind: 'terminal', status: state.status };
        await this.rememberVersion(u.jobId, u.executionNumber, state.versionNumber);
        return undefined;
      }
      case 'TerminalStateReached':
      case 'ResourceNotFound':
        return this.#reconcile(u);
      case 'RequestThrottled':
      case 'InternalError':
        return undefined;
      case 'InvalidTopic':
      case 'InvalidJson':
      case 'InvalidRequest':
        // Our own request is malformed: sending it again cannot help.
        logger.error({ jobId: u.jobId, error }, 'job update refused as invalid; dropped');
        return { kind: 'applied', via: 'dropped' };
    }
  }

  /** Re-reads the execution and decides what the queued update still means. */
  async #reconcile(u: StoredJobUpdate): Promise<JobUpdateOutcome | undefined> {
    const answer = await this.#o.jobs.describe(u.jobId, false);
    if (answer.kind === 'rejected') {
      if (answer.error.code === 'ResourceNotFound') return { kind: 'terminal', status: 'REMOVED' };
      if (answer.error.code === 'TerminalStateReached') return { kind: 'terminal', status: undefined };
      return undefined;
    }
    const execution = answer.response;
    if (execution === undefined) return { kind: 'terminal', status: 'REMOVED' };
    if (u.executionNumber > 0 && execution.executionNumber !== u.executionNumber) {
      return { kind: 'terminal', status: 'REMOVED' };
    }
    if (holds(execution, u)) return { kind: 'applied', via: 'already-held' };
    if (isTerminalStatus(execution.status)) return { kind: 'terminal', status: execution.status };
    await this.rememberVersion(u.jobId, u.executionNumber, execution.versionNumber);
    return undefined;
  }
}

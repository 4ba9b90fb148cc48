import type { UpdateRecord } from '../update/record.js';

/** A queued job execution update: what the flow wants the Jobs service to hold, not a wire payload. */
export interface QueuedJobUpdate {
  readonly jobId: string;
  /** 0 when not known (a job named only by a corrupt journal row): the request then names none. */
  readonly executionNumber: number;
  readonly status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED';
  readonly statusDetails: Readonly<Record<string, string>>;
}

export interface StoredJobUpdate extends QueuedJobUpdate {
  readonly id: number;
}

export interface StoredMessage {
  readonly id: number;
  readonly topic: string;
  readonly payload: string;
}

/** What loadUpdate found. `corrupt` never carries a record: nothing is decided on the strength of one. */
export type LoadedUpdate =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly record: UpdateRecord }
  | { readonly kind: 'corrupt'; readonly jobId: string | undefined; readonly detail: string };

/** Set when the journal file itself was unreadable and a fresh one was started. */
export interface JournalReset {
  readonly detail: string;
  /** Where the bad file was put aside. */
  readonly keptAt: string;
}

/**
 * One device's journal. Every write is durable when its promise resolves (nothing is acknowledged before it is on
 * disk). Async so that a store shared by thousands of simulated devices can batch writes into group commits.
 */
export interface AgentJournal {
  readonly thingName: string;
  /** The file was unreadable at open and was replaced by an empty one. */
  readonly reset: JournalReset | undefined;

  loadUpdate(): Promise<LoadedUpdate>;
  saveUpdate(record: UpdateRecord): Promise<void>;
  clearUpdate(): Promise<void>;

  /** Resume offsets of downloads, per job (the downloader's progress store). */
  loadDownloadOffset(jobId: string): Promise<number | undefined>;
  saveDownloadOffset(jobId: string, offset: number): Promise<void>;
  clearDownloadOffset(jobId: string): Promise<void>;

  /** The durable outbox: QoS 1 messages in the order they were written. */
  enqueueMessage(topic: string, payload: string): Promise<number>;
  pendingMessages(limit: number): Promise<readonly StoredMessage[]>;
  deleteMessage(id: number): Promise<void>;

  /** Job execution updates, in order. */
  enqueueJobUpdate(update: QueuedJobUpdate): Promise<number>;
  pendingJobUpdates(): Promise<readonly StoredJobUpdate[]>;
  deleteJobUpdate(id: number): Promise<void>;

  /** Small device facts: counters, the last update, known execution versions. */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}

/** The journal database: one file, rows keyed by thing name (a device has one; the simulator shares one). */
export interface JournalDatabase {
  forThing(thingName: string): AgentJournal;
  readonly path: string;
  readonly reset: JournalReset | undefined;
  close(): void;
}

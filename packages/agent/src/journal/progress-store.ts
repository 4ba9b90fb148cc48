import type { AgentJournal } from './types.js';

/** The downloader's progress store (DownloadProgressStore) for one job, in the journal. */
export interface JobProgressStore {
  load(): Promise<number | undefined>;
  save(offset: number): Promise<void>;
  clear(): Promise<void>;
}

export const journalProgressStore = (journal: AgentJournal, jobId: string): JobProgressStore => ({
  load: () => journal.loadDownloadOffset(jobId),
  save: (offset) => journal.saveDownloadOffset(jobId, offset),
  clear: () => journal.clearDownloadOffset(jobId),
});

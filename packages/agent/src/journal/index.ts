export type {
  AgentJournal,
  JournalDatabase,
  JournalReset,
  LoadedUpdate,
  QueuedJobUpdate,
  StoredJobUpdate,
  StoredMessage,
} from './types.js';
export { openSqliteJournal, JOURNAL_FILE_VERSION } from './sqlite-journal.js';
export { UPDATE_RECORD_SCHEMA_VERSION, encodeUpdateRecord, decodeUpdateRecord } from './update-codec.js';
export { journalProgressStore } from './progress-store.js';

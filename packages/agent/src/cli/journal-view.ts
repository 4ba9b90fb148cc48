import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LastUpdate } from '@otafleet/protocol';
import { decodeUpdateRecord } from '../journal/update-codec.js';
import { META_LAST_UPDATE, META_ROLLBACKS } from '../jobs/jobs-runner.js';

/** What `status` shows from the journal. */
export interface JournalView {
  readonly update:
    | { readonly jobId: string; readonly state: string; readonly toVersion?: string }
    | { readonly jobId: string | undefined; readonly state: 'undecodable' }
    | undefined;
  readonly lastUpdate: LastUpdate | undefined;
  readonly rollbackCount: number;
}

/**
 * Reads the journal read-only: the running agent keeps writing (WAL lets a reader in), and a status command must
 * never be the one that moves a damaged file aside. A journal not there yet reads as empty.
 */
export function readJournalView(dataDir: string, thingName: string): JournalView {
  const path = join(dataDir, 'journal.db');
  if (!existsSync(path)) return { update: undefined, lastUpdate: undefined, rollbackCount: 0 };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT job_id, schema_version, body FROM update_state WHERE thing = ?').get(thingName) as
      { job_id: string; schema_version: number; body: string } | undefined;
    const meta = (key: string): string | undefined =>
      (
        db.prepare('SELECT value FROM device_meta WHERE thing = ? AND key = ?').get(thingName, key) as
          { value: string } | undefined
      )?.value;
    let update: JournalView['update'];
    if (row !== undefined) {
      const decoded = decodeUpdateRecord(row.schema_version, row.body);
      update = decoded.ok
        ? {
            jobId: decoded.value.jobId,
            state: decoded.value.state,
            ...(decoded.value.toVersion === undefined ? {} : { toVersion: decoded.value.toVersion }),
          }
        : { jobId: row.job_id, state: 'undecodable' };
    }
    const last = meta(META_LAST_UPDATE);
    return {
      update,
      lastUpdate: last === undefined ? undefined : (JSON.parse(last) as LastUpdate),
      rollbackCount: Number(meta(META_ROLLBACKS) ?? 0),
    };
  } finally {
    db.close();
  }
}

import { err, ok, type Result } from '@otafleet/protocol';
import type { GateVerdict } from '../rollout/health-gate.js';
import type { RolloutStatus, WaveStatus } from '../rollout/states.js';
import { nextRolloutStatus, nextWaveStatus } from '../rollout/transitions.js';
import { openFleetDatabase, settle } from '../sqlite.js';
import type {
  AuditEntry,
  ChangeContext,
  RolloutDefinition,
  RolloutRecord,
  RolloutStore,
  StoreError,
  WaveRecord,
} from './types.js';

/** The file's layout version (PRAGMA user_version); a file of another version is refused, not guessed at. */
export const ROLLOUT_STORE_FILE_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rollout (
  id TEXT PRIMARY KEY, definition TEXT NOT NULL, status TEXT NOT NULL, current_wave INTEGER NOT NULL,
  status_reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rollout_status ON rollout (status);
CREATE TABLE IF NOT EXISTS wave (
  rollout_id TEXT NOT NULL REFERENCES rollout (id), idx INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
  rank_ceiling REAL NOT NULL, job_id TEXT, deployed_at INTEGER, settled_at INTEGER, decided_at INTEGER, verdict TEXT,
  PRIMARY KEY (rollout_id, idx));
CREATE TABLE IF NOT EXISTS rollout_device (
  rollout_id TEXT NOT NULL REFERENCES rollout (id), thing_name TEXT NOT NULL, wave INTEGER NOT NULL,
  added_at INTEGER NOT NULL, PRIMARY KEY (rollout_id, thing_name));
CREATE INDEX IF NOT EXISTS rollout_device_wave ON rollout_device (rollout_id, wave);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, from_status TEXT, to_status TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_rollout ON audit (rollout_id, seq);
`;

interface RolloutRow {
  id: string;
  definition: string;
  status: string;
  current_wave: number;
  status_reason: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}
interface WaveRow {
  rollout_id: string;
  idx: number;
  name: string;
  status: string;
  rank_ceiling: number;
  job_id: string | null;
  deployed_at: number | null;
  settled_at: number | null;
  decided_at: number | null;
  verdict: string | null;
}
interface AuditRow {
  seq: number;
  rollout_id: string;
  at: number;
  actor: string;
  action: string;
  from_status: string | null;
  to_status: string | null;
  detail: string | null;
}

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

const rolloutOf = (r: RolloutRow): RolloutRecord => ({
  id: r.id,
  definition: JSON.parse(r.definition) as RolloutDefinition,
  status: r.status as RolloutStatus,
  currentWave: r.current_wave,
  statusReason: orUndefined(r.status_reason),
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const waveOf = (r: WaveRow): WaveRecord => ({
  rolloutId: r.rollout_id,
  index: r.idx,
  name: r.name,
  status: r.status as WaveStatus,
  rankCeiling: r.rank_ceiling,
  jobId: orUndefined(r.job_id),
  deployedAt: orUndefined(r.deployed_at),
  settledAt: orUndefined(r.settled_at),
  decidedAt: orUndefined(r.decided_at),
  verdict: r.verdict === null ? undefined : (JSON.parse(r.verdict) as GateVerdict),
});

const auditOf = (r: AuditRow): AuditEntry => ({
  seq: r.seq,
  rolloutId: r.rollout_id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  from: orUndefined(r.from_status),
  to: orUndefined(r.to_status),
  detail: orUndefined(r.detail),
});

/** Thrown inside a transaction to roll it back and come out as a typed error. */
class Refusal extends Error {
  constructor(readonly error: StoreError) {
    super(error.message);
  }
}

/**
 * The rollout store in one SQLite file: WAL with synchronous=FULL, so a resolved promise means the change is on
 * disk; each change and its audit entry share one transaction, so a crash leaves both or neither.
 */
export function openSqliteRolloutStore(path: string): RolloutStore {
  const db = openFleetDatabase(path);
  const fileVersion = db.pragma('user_version', { simple: true }) as number;
  if (fileVersion !== 0 && fileVersion !== ROLLOUT_STORE_FILE_VERSION) {
    db.close();
    throw new Error(
      `${path}: rollout store file version ${fileVersion}; this fleet service reads version ${ROLLOUT_STORE_FILE_VERSION}`,
    );
  }
  db.exec(SCHEMA);
  db.pragma(`user_version = ${ROLLOUT_STORE_FILE_VERSION}`);

  const q = {
    getRollout: db.prepare<[string], RolloutRow>('SELECT * FROM rollout WHERE id = ?'),
    allRollouts: db.prepare<[], RolloutRow>('SELECT * FROM rollout ORDER BY created_at, id'),
    rolloutsByStatus: db.prepare<[string], RolloutRow>(
      'SELECT * FROM rollout WHERE status = ? ORDER BY created_at, id',
    ),
    insertRollout: db.prepare(
      'INSERT INTO rollout (id, definition, status, current_wave, status_reason, version, created_at, updated_at) VALUES (?, ?, ?, 0, NULL, 1, ?, ?)',
    ),
    updateRollout: db.prepare(
      'UPDATE rollout SET status = ?, current_wave = ?, status_reason = ?, version = version + 1, updated_at = ? WHERE id = ?',
    ),
    waves: db.prepare<[string], WaveRow>('SELECT * FROM wave WHERE rollout_id = ? ORDER BY idx'),
    wave: db.prepare<[string, number], WaveRow>('SELECT * FROM wave WHERE rollout_id = ? AND idx = ?'),
    insertWave: db.prepare(
      "INSERT INTO wave (rollout_id, idx, name, status, rank_ceiling) VALUES (?, ?, ?, 'pending', ?)",
    ),
    updateWave: db.prepare(
      'UPDATE wave SET status = ?, job_id = ?, deployed_at = ?, settled_at = ?, decided_at = ?, verdict = ? WHERE rollout_id = ? AND idx = ?',
    ),
    insertDevice: db.prepare(
      'INSERT OR IGNORE INTO rollout_device (rollout_id, thing_name, wave, added_at) VALUES (?, ?, ?, ?)',
    ),
    devices: db.prepare<[string], { thing_name: string; wave: number }>(
      'SELECT thing_name, wave FROM rollout_device WHERE rollout_id = ? ORDER BY wave, thing_name',
    ),
    devicesOfWave: db.prepare<[string, number], { thing_name: string; wave: number }>(
      'SELECT thing_name, wave FROM rollout_device WHERE rollout_id = ? AND wave = ? ORDER BY thing_name',
    ),
    insertAudit: db.prepare(
      'INSERT INTO audit (rollout_id, at, actor, action, from_status, to_status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    audit: db.prepare<[string], AuditRow>('SELECT * FROM audit WHERE rollout_id = ? ORDER BY seq'),
  };

  const audit = (id: string, c: ChangeContext, action: string, from?: string, to?: string): void => {
    q.insertAudit.run(id, c.at, c.actor, action, from ?? null, to ?? null, c.reason ?? null);
  };

  const existing = (id: string): RolloutRow => {
    const row = q.getRollout.get(id);
    if (row === undefined) throw new Refusal({ code: 'NOT_FOUND', message: `no rollout ${id}` });
    return row;
  };

  /** Runs `fn` in one transaction; a Refusal rolls it back and becomes the error result. */
  const change = <T>(fn: () => T): Promise<Result<T, StoreError>> =>
    settle(() => {
      try {
        return ok(db.transaction(fn).immediate());
      } catch (e) {
        if (e instanceof Refusal) return err(e.error);
        throw e;
      }
    });

  return {
    createRollout: (id, definition, plan, context) =>
      change(() => {
        if (q.getRollout.get(id) !== undefined) {
          throw new Refusal({ code: 'ALREADY_EXISTS', message: `a rollout ${id} exists already` });
        }
        q.insertRollout.run(id, JSON.stringify(definition), 'scheduled', context.at, context.at);
        for (const wave of plan) {
          q.insertWave.run(id, wave.index, wave.name, wave.rankCeiling);
          for (const thing of wave.thingNames) q.insertDevice.run(id, thing, wave.index, context.at);
        }
        audit(id, context, 'created', undefined, 'scheduled');
        return rolloutOf(existing(id));
      }),

    getRollout: (id) =>
      settle(() => {
        const row = q.getRollout.get(id);
        return row === undefined ? undefined : rolloutOf(row);
      }),

    listRollouts: (filter) =>
      settle(() =>
        (filter?.status === undefined ? q.allRollouts.all() : q.rolloutsByStatus.all(filter.status)).map(rolloutOf),
      ),

    applyRolloutEvent: (id, event, context) =>
      change(() => {
        const row = existing(id);
        if (context.expectedVersion !== undefined && context.expectedVersion !== row.version) {
          throw new Refusal({
            code: 'VERSION_CONFLICT',
            message: `rollout ${id} is at version ${row.version}, not ${context.expectedVersion}`,
            currentVersion: row.version,
          });
        }
        const next = nextRolloutStatus(row.status as RolloutStatus, event);
        if (!next.ok) throw new Refusal({ code: 'ILLEGAL_TRANSITION', message: next.error.message });
        q.updateRollout.run(
          next.value,
          context.currentWave ?? row.current_wave,
          context.reason ?? null,
          context.at,
          id,
        );
        audit(id, context, event, row.status, next.value);
        return rolloutOf(existing(id));
      }),

    waves: (rolloutId) => settle(() => q.waves.all(rolloutId).map(waveOf)),

    applyWaveEvent: (rolloutId, index, event, change_) =>
      change(() => {
        existing(rolloutId);
        const row = q.wave.get(rolloutId, index);
        if (row === undefined)
          throw new Refusal({ code: 'NOT_FOUND', message: `rollout ${rolloutId} has no wave ${index}` });
        const next = nextWaveStatus(row.status as WaveStatus, event);
        if (!next.ok) throw new Refusal({ code: 'ILLEGAL_TRANSITION', message: next.error.message });
        const at = change_.at;
        q.updateWave.run(
          next.value,
          change_.jobId ?? row.job_id,
          event === 'deploy' ? at : row.deployed_at,
          event === 'settled' ? at : row.settled_at,
          event === 'gate-passed' || event === 'gate-breached' || event === 'promote' ? at : row.decided_at,
          change_.verdict === undefined ? row.verdict : JSON.stringify(change_.verdict),
          rolloutId,
          index,
        );
        audit(rolloutId, change_, `wave ${row.name}: ${event}`, row.status, next.value);
        const updated = q.wave.get(rolloutId, index);
        if (updated === undefined) throw new Error('wave vanished inside its own transaction');
        return waveOf(updated);
      }),

    addDevices: (rolloutId, index, thingNames, context) =>
      change(() => {
        existing(rolloutId);
        if (q.wave.get(rolloutId, index) === undefined) {
          throw new Refusal({ code: 'NOT_FOUND', message: `rollout ${rolloutId} has no wave ${index}` });
        }
        const added = thingNames.filter(
          (thing) => q.insertDevice.run(rolloutId, thing, index, context.at).changes === 1,
        );
        if (added.length > 0) {
          q.insertAudit.run(
            rolloutId,
            context.at,
            context.actor,
            `devices joined wave ${index}`,
            null,
            null,
            added.join(','),
          );
        }
        return added;
      }),

    devices: (rolloutId, index) =>
      settle(() =>
        (index === undefined ? q.devices.all(rolloutId) : q.devicesOfWave.all(rolloutId, index)).map((r) => ({
          thingName: r.thing_name,
          wave: r.wave,
        })),
      ),

    auditLog: (rolloutId) => settle(() => q.audit.all(rolloutId).map(auditOf)),

    close: () => settle(() => void db.close()),
  };
}

import { join } from 'node:path';
import { DataDirLockedError, lockDataDir } from '@otafleet/runtime';
import type { LastUpdate } from '@otafleet/protocol';
import pino from 'pino';
import type { AgentConfig } from '../config/schema.js';
import { META_LAST_UPDATE, META_ROLLBACKS } from '../jobs/jobs-runner.js';
import { openSqliteJournal } from '../journal/sqlite-journal.js';
import { DirectorySlotBackend } from '../slots/index.js';
import { committedReleases } from '../update/committed-releases.js';
import { CliError } from './exit-codes.js';

export interface LocalRollback {
  readonly jobId: string;
  readonly fromSlot: 'A' | 'B';
  readonly toSlot: 'A' | 'B';
  readonly fromVersion: string | undefined;
  readonly toVersion: string;
}

/**
 * `otaagent rollback`: an operator on the device puts the other slot's release back, with the agent stopped (it
 * owns the slots while it runs). Only to a release committed on this device before, never during an update, and
 * journaled like an update (lastUpdate with ROLLED_BACK, the rollback count). The switch is the slot backend's own
 * arm → start → commit sequence, so a power cut in between leaves an uncommitted trial that the agent's next start
 * rolls back: the device is then on the release it was on, never on neither.
 */
export async function localRollback(config: AgentConfig, now: () => number = Date.now): Promise<LocalRollback> {
  let lock;
  try {
    lock = lockDataDir(config.dataDir, 'otaagent rollback');
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    throw new CliError(
      'AGENT_RUNNING',
      `the agent is running (pid ${e.holder.pid}); stop it first (systemctl stop otaagent), then run otaagent rollback`,
    );
  }
  const db = openSqliteJournal(join(config.dataDir, 'journal.db'));
  try {
    const journal = db.forThing(config.thingName);
    const inFlight = await journal.loadUpdate();
    if (inFlight.kind !== 'none') {
      const which =
        inFlight.kind === 'ok' ? `${inFlight.record.jobId} (${inFlight.record.state})` : 'an unreadable one';
      throw new CliError(
        'UPDATE_IN_PROGRESS',
        `an update is in progress: ${which}; let the agent finish it or cancel the job`,
      );
    }
    const slots = new DirectorySlotBackend({
      root: config.slots.root,
      logger: pino({ level: 'silent' }),
      restart: () => undefined, // the agent is stopped: its next start runs the committed slot
    });
    const before = await slots.state();
    if (before.trial !== undefined) {
      throw new CliError('UPDATE_IN_PROGRESS', `slot ${before.trial.slot} holds an uncommitted trial`);
    }
    const from = before.committed;
    const to = from === 'A' ? 'B' : 'A';
    const target = before.versions[to];
    if (target === undefined) throw new CliError('ROLLBACK_UNAVAILABLE', `slot ${to} holds no release`);
    if (!(await committedReleases(journal)).includes(target.manifestSha256)) {
      throw new CliError(
        'ROLLBACK_UNAVAILABLE',
        `slot ${to} holds ${target.name} ${target.version}, which was never committed on this device`,
      );
    }
    await slots.armTrial(to, 1);
    await slots.recordBootAttempt();
    const after = await slots.commit();
    if (after.committed !== to) throw new CliError('SLOT_SWITCH_FAILED', `slot ${after.committed} is still committed`);
    const jobId = `local-rollback-${now()}`;
    const fromVersion = before.versions[from]?.version;
    const lastUpdate: LastUpdate = {
      jobId,
      operation: 'ota.rollback',
      component: 'application',
      result: 'rolled-back',
      reasonCode: 'ROLLED_BACK',
      reason: 'operator rollback on the device (otaagent rollback)',
      ...(fromVersion === undefined ? {} : { fromVersion }),
      toVersion: target.version,
      at: now(),
    };
    await journal.setMeta(META_LAST_UPDATE, JSON.stringify(lastUpdate));
    const count = Number((await journal.getMeta(META_ROLLBACKS)) ?? 0);
    await journal.setMeta(META_ROLLBACKS, String(count + 1));
    return { jobId, fromSlot: from, toSlot: to, fromVersion, toVersion: target.version };
  } finally {
    db.close();
    lock.release();
  }
}

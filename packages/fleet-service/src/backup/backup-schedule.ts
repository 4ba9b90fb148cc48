import { schedule, validate, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { pruneBackups, takeBackup, backupNameAt, type BackupInfo } from './fleet-backup.js';
import { join } from 'node:path';

export interface BackupScheduleConfig {
  /** node-cron expression (5 fields, or 6 with seconds), in `timeZone` (default UTC). */
  readonly cron: string;
  readonly timeZone?: string;
  /** Backups kept: after each one, all but the newest `keep` are removed. */
  readonly keep: number;
  /** Where scheduled backups go; default `<dataDir>/backups`. */
  readonly dir?: string;
}

export class BackupScheduleError extends Error {
  override readonly name = 'BackupScheduleError';
}

/** The service's backups: on demand (the API) and on a schedule, both into one directory with retention. */
export interface BackupService {
  readonly dir: string;
  take(): Promise<BackupInfo>;
  stop(): Promise<void>;
}

export function checkBackupSchedule(config: BackupScheduleConfig): void {
  if (!validate(config.cron))
    throw new BackupScheduleError(`backup.cron: "${config.cron}" is not a valid node-cron expression`);
  if (!Number.isInteger(config.keep) || config.keep < 1) {
    throw new BackupScheduleError(`backup.keep must be a whole number of at least 1, got ${config.keep}`);
  }
}

export function startBackups(options: {
  readonly dataDir: string;
  readonly schedule?: BackupScheduleConfig;
  readonly now: () => number;
  readonly logger: Logger;
  readonly onBackup?: (outcome: 'ok' | 'failed') => void;
}): BackupService {
  const dir = options.schedule?.dir ?? join(options.dataDir, 'backups');
  // One backup at a time: a scheduled one and an API call never write the same moment's file at once.
  let running: Promise<unknown> = Promise.resolve();
  const take = (): Promise<BackupInfo> => {
    const next = running.then(async () => {
      try {
        const info = await takeBackup(options.dataDir, join(dir, backupNameAt(options.now())), options.now());
        if (options.schedule !== undefined) pruneBackups(dir, options.schedule.keep);
        options.onBackup?.('ok');
        return info;
      } catch (e) {
        options.onBackup?.('failed');
        throw e;
      }
    });
    running = next.catch(() => undefined);
    return next;
  };
  let task: ScheduledTask | undefined;
  if (options.schedule !== undefined) {
    checkBackupSchedule(options.schedule);
    task = schedule(
      options.schedule.cron,
      async () => {
        try {
          const info = await take();
          options.logger.info({ file: info.file, bytes: info.bytes }, 'scheduled backup taken');
        } catch (e) {
          options.logger.error({ err: e }, 'scheduled backup failed; the next one tries again');
        }
      },
      { timezone: options.schedule.timeZone ?? 'UTC', noOverlap: true, name: 'fleet-backup' },
    );
  }
  return {
    dir,
    take,
    async stop() {
      await task?.destroy();
      await running;
    },
  };
}

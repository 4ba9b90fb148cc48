import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BackupService } from '../backup/backup-schedule.js';
import { isBackupName, listBackups, type BackupInfo } from '../backup/fleet-backup.js';

const BackupParamsSchema = Type.Object(
  { name: Type.String({ pattern: '^fleet-backup-[0-9TZ-]{1,40}\\.sqlite$' }) },
  { additionalProperties: false },
);

/** What the API shows of a backup: no server paths. */
const shown = ({ file: _file, ...rest }: BackupInfo): Omit<BackupInfo, 'file'> => rest;

/** Backups for admins: take one now, list them, download one (the CLI's `fleet backup` does all three). */
export function registerBackupRoutes(
  app: FastifyInstance,
  backups: BackupService,
  admin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>,
): void {
  app.post('/v1/backups', { preHandler: admin }, async (_req, reply) =>
    reply.code(201).send(shown(await backups.take())),
  );
  app.get('/v1/backups', { preHandler: admin }, () => ({ backups: listBackups(backups.dir).map(shown) }));
  app.get('/v1/backups/:name', { preHandler: admin, schema: { params: BackupParamsSchema } }, (req, reply) => {
    const { name } = req.params as { name: string };
    const file = join(backups.dir, name);
    if (!isBackupName(name) || !existsSync(file)) {
      return reply.code(404).send({ code: 'NOT_FOUND', message: `no backup ${name}` });
    }
    return reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(createReadStream(file));
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WaveInstallCounts } from '../rollout/health-gate.js';
import type { RolloutStore } from '../store/types.js';
import type { ServiceMetrics } from './metrics.js';
import { RolloutParamsSchema } from './schemas.js';

/**
 * A rollout's progress per wave, for `fleet rollouts watch`: the wave's state, its devices, and its job's
 * execution counts as the rollout engine last read them (at its last tick; none before the wave is deployed).
 */
export function registerProgressRoute(
  app: FastifyInstance,
  deps: { readonly rollouts: RolloutStore; readonly metrics: ServiceMetrics },
  viewer: (req: FastifyRequest, reply: FastifyReply) => Promise<void>,
): void {
  app.get(
    '/v1/rollouts/:id/progress',
    { preHandler: viewer, schema: { params: RolloutParamsSchema } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const rollout = await deps.rollouts.getRollout(id);
      if (rollout === undefined) return reply.code(404).send({ code: 'NOT_FOUND', message: `no rollout ${id}` });
      const devices = await deps.rollouts.devices(id);
      const perWave = new Map<number, number>();
      for (const d of devices) perWave.set(d.wave, (perWave.get(d.wave) ?? 0) + 1);
      const counts = deps.metrics.jobCountsOf(id);
      return {
        id,
        status: rollout.status,
        statusReason: rollout.statusReason,
        currentWave: rollout.currentWave,
        waves: (await deps.rollouts.waves(id)).map((w) => {
          const c: WaveInstallCounts | undefined = counts.get(w.index);
          return {
            index: w.index,
            name: w.name,
            status: w.status,
            devices: perWave.get(w.index) ?? 0,
            ...(c === undefined ? {} : { executions: c }),
            ...(w.verdict === undefined ? {} : { decision: w.verdict.decision }),
          };
        }),
      };
    },
  );
}

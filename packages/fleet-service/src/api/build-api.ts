import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { verifyBundleUrl } from '@otafleet/protocol';
import type { BundleStore } from '../bundles/bundle-store.js';
import type { RolloutEngine } from '../engine/rollout-engine.js';
import type { HealthStore } from '../health/types.js';
import { DEFAULT_GATE } from '../rollout/health-gate.js';
import type { RolloutStore, StoreError } from '../store/types.js';
import {
  ActionBodySchema,
  ActionParamsSchema,
  BundleParamsSchema,
  CreateRolloutBodySchema,
  DeadLetterQuerySchema,
  ListRolloutsQuerySchema,
  RolloutParamsSchema,
  ThingParamsSchema,
} from './schemas.js';
import { registerDeviceRoutes, type DeviceApiDeps } from './devices-routes.js';
import { registerGroupRoutes } from './groups-routes.js';
import type { RouteKit } from './route-kit.js';
import type { BackupService } from '../backup/backup-schedule.js';
import { registerBackupRoutes } from './backup-routes.js';
import { registerProgressRoute } from './progress-route.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { DEFAULT_RATE_LIMIT, registerRateLimit, type RateLimitConfig } from './rate-limit.js';
import { rolloutOptions } from './rollout-options.js';
import { roleAtLeast, type Caller, type Role, type TokenStore } from './tokens.js';

export interface ApiDeps {
  readonly engine: RolloutEngine;
  readonly rollouts: RolloutStore;
  readonly health: HealthStore;
  readonly bundles: BundleStore;
  readonly tokens: TokenStore;
  /** The key signed bundle URLs are checked with. */
  readonly urlKey: Uint8Array;
  readonly now: () => number;
  readonly logger: Logger;
  readonly maxBundleBytes: number;
  /** Whether the service is connected and able to take work (for /ready). */
  readonly ready: () => { readonly ready: boolean; readonly reasons: readonly string[] };
  /** Enrolment, device listing and history, thing groups (through AWS IoT); absent: those routes do not exist. */
  readonly devices?: DeviceApiDeps;
  /** Shared with the engine (job counts) and the backup schedule; a fresh set when absent. */
  readonly metrics?: ServiceMetrics;
  /** The operator API's rate limit per token; `false`: none. Default DEFAULT_RATE_LIMIT. */
  readonly rateLimit?: RateLimitConfig | false;
  /** Backups on demand (admin routes under /v1/backups); absent: no backup routes. */
  readonly backups?: BackupService;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

const STATUS_OF_STORE_ERROR: Record<StoreError['code'], number> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  VERSION_CONFLICT: 409,
  ILLEGAL_TRANSITION: 409,
};

const fail = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply =>
  reply.code(status).send({ code, message });

/** The operator API: JSON over HTTP, a TypeBox schema on every route, OpenAPI at /docs. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bundles arrive as raw bytes and are streamed to the store, never buffered whole.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number; code?: string }, _req, reply) => {
    if (error.validation !== undefined) return fail(reply, 400, 'INVALID_REQUEST', error.message);
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return fail(reply, error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
    }
    deps.logger.error({ err: error }, 'request failed');
    return fail(reply, 500, 'INTERNAL_ERROR', 'internal error; the service log has the details');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'OTA fleet service', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const metrics = deps.metrics ?? createServiceMetrics();
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  if (deps.rateLimit !== false) {
    registerRateLimit(app, deps.rateLimit ?? DEFAULT_RATE_LIMIT, deps.now, () => metrics.countRateLimited());
  }

  /** Authentication and the role a route needs; `undefined` role = public. */
  const guard =
    (role: Role) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const header = req.headers.authorization;
      const token = header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
      const caller = token === undefined ? undefined : deps.tokens.verify(token);
      if (caller === undefined) {
        await fail(reply, 401, 'UNAUTHENTICATED', 'send a valid token as "Authorization: Bearer <token>"');
        return;
      }
      if (!roleAtLeast(caller.role, role)) {
        await fail(reply, 403, 'FORBIDDEN', `this needs the ${role} role; ${caller.name} is a ${caller.role}`);
        return;
      }
      req.caller = caller;
    };
  const actor = (req: FastifyRequest): string => req.caller?.name ?? 'anonymous';
  if (deps.backups !== undefined) registerBackupRoutes(app, deps.backups, guard('admin'));
  registerProgressRoute(app, { rollouts: deps.rollouts, metrics }, guard('viewer'));

  app.get('/health', { schema: { hide: true } }, () => ({ status: 'ok' }));
  app.get('/ready', { schema: { hide: true } }, (_req, reply) => {
    const state = deps.ready();
    return reply.code(state.ready ? 200 : 503).send(state);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/plain; version=0.0.4')
      .send(await metrics.render({ rollouts: deps.rollouts, health: deps.health })),
  );

  app.post(
    '/v1/bundles',
    { preHandler: guard('operator'), schema: { consumes: ['application/octet-stream'] } },
    async (req, reply) => {
      if (req.headers['content-type'] !== 'application/octet-stream') {
        return fail(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'upload the bundle file as application/octet-stream');
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > deps.maxBundleBytes) {
        return fail(
          reply,
          413,
          'BUNDLE_TOO_LARGE',
          `the upload is ${declared} bytes; the limit is ${deps.maxBundleBytes}`,
        );
      }
      const put = await deps.bundles.put(req.body as AsyncIterable<Uint8Array>, {
        uploadedBy: actor(req),
        at: deps.now(),
        maxBytes: deps.maxBundleBytes,
      });
      if (!put.ok)
        return fail(reply, put.error.code === 'BUNDLE_TOO_LARGE' ? 413 : 422, put.error.code, put.error.message);
      return reply.code(put.value.created ? 201 : 200).send(put.value.bundle);
    },
  );
  app.get('/v1/bundles', { preHandler: guard('viewer') }, async () => ({ bundles: await deps.bundles.list() }));
  app.get(
    '/v1/bundles/:sha256',
    { preHandler: guard('viewer'), schema: { params: BundleParamsSchema } },
    async (req, reply) => {
      const bundle = await deps.bundles.get(req.params.sha256);
      return bundle === undefined ? fail(reply, 404, 'NOT_FOUND', `no bundle ${req.params.sha256}`) : bundle;
    },
  );

  // Devices download with a signed URL (no token); Range requests resume a cut download.
  app.get('/bundles/:file', { schema: { hide: true } }, async (req, reply) => {
    const { file } = req.params as { file: string };
    const sha256 = file.endsWith('.otab') ? file.slice(0, -5) : '';
    const url = new URL(req.url, 'http://local');
    const check = verifyBundleUrl(url.pathname, url.searchParams, deps.urlKey, deps.now());
    if (!check.ok) return fail(reply, 403, check.code, check.message);
    const bundle = await deps.bundles.get(sha256);
    if (bundle === undefined) return fail(reply, 404, 'NOT_FOUND', `no bundle ${sha256}`);
    void reply.header('accept-ranges', 'bytes').type('application/octet-stream');
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range !== undefined) {
      const start = range === null ? NaN : Number(range[1]);
      const end = range?.[2] === '' || range === null ? bundle.size - 1 : Number(range[2]);
      if (!(start <= end && end < bundle.size)) {
        return reply.code(416).header('content-range', `bytes */${bundle.size}`).send();
      }
      return reply
        .code(206)
        .header('content-range', `bytes ${start}-${end}/${bundle.size}`)
        .header('content-length', end - start + 1)
        .send(await deps.bundles.read(sha256, { start, end }));
    }
    return reply.header('content-length', bundle.size).send(await deps.bundles.read(sha256));
  });

  app.post(
    '/v1/rollouts',
    { preHandler: guard('operator'), schema: { body: CreateRolloutBodySchema } },
    async (req, reply) => {
      const body = req.body;
      const id = body.id ?? `r${deps.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
      const bundle = await deps.bundles.get(body.bundleId);
      const options = rolloutOptions(body, deps.now());
      if (!options.ok)
        return fail(reply, 400, 'INVALID_REQUEST', `body.${options.error.field}: ${options.error.message}`);
      if (bundle === undefined)
        return fail(reply, 422, 'UNKNOWN_BUNDLE', `bundle ${body.bundleId} is not in the store`);
      try {
        const created = await deps.engine.create(
          id,
          {
            name: body.name,
            bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
            target: body.target,
            waves: body.waves,
            seed: body.seed ?? id,
            gate: { ...DEFAULT_GATE, ...body.gate },
            onBreach: body.onBreach,
            soakSeconds: body.soakSeconds,
            waveTimeoutSeconds: body.waveTimeoutSeconds,
            ...(body.startAt === undefined ? {} : { startAt: Date.parse(body.startAt) }),
            ...(body.maxPerMinute === undefined ? {} : { maxPerMinute: body.maxPerMinute }),
            ...options.value,
          },
          actor(req),
        );
        return reply.code(201).send({ ...created, waves: await deps.rollouts.waves(id) });
      } catch (e) {
        const code = (e as { code?: string }).code;
        const message = e instanceof Error ? e.message : String(e);
        if (code === 'INVALID_ROLLOUT' || code === 'UNKNOWN_BUNDLE') return fail(reply, 422, code, message);
        if (code === 'STORE_REFUSED') return fail(reply, 409, 'ALREADY_EXISTS', message);
        throw e;
      }
    },
  );
  app.get(
    '/v1/rollouts',
    { preHandler: guard('viewer'), schema: { querystring: ListRolloutsQuerySchema } },
    async (req) => ({
      rollouts: await deps.rollouts.listRollouts(req.query.status === undefined ? {} : { status: req.query.status }),
    }),
  );
  app.get(
    '/v1/rollouts/:id',
    { preHandler: guard('viewer'), schema: { params: RolloutParamsSchema } },
    async (req, reply) => {
      const rollout = await deps.rollouts.getRollout(req.params.id);
      if (rollout === undefined) return fail(reply, 404, 'NOT_FOUND', `no rollout ${req.params.id}`);
      return { ...rollout, waves: await deps.rollouts.waves(rollout.id) };
    },
  );
  app.get(
    '/v1/rollouts/:id/audit',
    { preHandler: guard('viewer'), schema: { params: RolloutParamsSchema } },
    async (req, reply) => {
      if ((await deps.rollouts.getRollout(req.params.id)) === undefined) {
        return fail(reply, 404, 'NOT_FOUND', `no rollout ${req.params.id}`);
      }
      return { entries: await deps.rollouts.auditLog(req.params.id) };
    },
  );
  app.post(
    '/v1/rollouts/:id/:action',
    { preHandler: guard('operator'), schema: { params: ActionParamsSchema, body: ActionBodySchema } },
    async (req, reply) => {
      const result = await deps.engine.act(req.params.id, req.params.action, actor(req), req.body?.reason);
      if (!result.ok)
        return fail(reply, STATUS_OF_STORE_ERROR[result.error.code], result.error.code, result.error.message);
      return result.value;
    },
  );

  app.get(
    '/v1/devices/:thingName/health',
    { preHandler: guard('viewer'), schema: { params: ThingParamsSchema } },
    async (req, reply) => {
      const health = await deps.health.device(req.params.thingName);
      return health ?? fail(reply, 404, 'NOT_FOUND', `no health report from ${req.params.thingName} yet`);
    },
  );
  app.get(
    '/v1/dead-letters',
    { preHandler: guard('viewer'), schema: { querystring: DeadLetterQuerySchema } },
    async (req) => ({
      deadLetters: (await deps.health.deadLetters(req.query)).map((d) => ({
        ...d,
        payload: d.payload.toString('base64'),
      })),
    }),
  );

  if (deps.devices !== undefined) {
    const kit: RouteKit = { guard, actor, fail };
    registerDeviceRoutes(app, kit, { ...deps.devices, health: deps.health, rollouts: deps.rollouts, now: deps.now });
    registerGroupRoutes(app, kit, deps.devices.groups);
  }

  return app;
}

import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { parseJsonPayload } from '@otafleet/protocol';
import type { Logger } from 'pino';
import { isAwsServiceError } from '../aws-error.js';
import type { CertificateRegistry } from '../identity/certificate-registry.js';
import type { CsrCertificateIssuer } from '../identity/csr-certificates.js';
import type { ThingPrincipals } from '../registry/thing-principals.js';
import type { ThingRegistry } from '../registry/thing-registry.js';
import type { JobsControlPlane, ShadowControlPlane } from '../service-contracts.js';
import { replyWithAwsError } from './aws-reply.js';
import { registerCertificateRoutes } from './routes/certificate-routes.js';
import { registerJobRoutes } from './routes/job-routes.js';
import { registerPrincipalRoutes } from './routes/principal-routes.js';
import { registerRegistryRoutes } from './routes/registry-routes.js';
import { isDataPlaneRoute, registerShadowRoutes } from './routes/shadow-routes.js';
import { verifySigV4 } from './sigv4.js';
import type { ControlPlaneApp } from './control-plane-app.js';

export type { ControlPlaneApp };

export interface ControlPlaneOptions {
  readonly registry: ThingRegistry;
  readonly shadows: ShadowControlPlane;
  readonly jobs: JobsControlPlane;
  /** DescribeCertificate, ListCertificates, UpdateCertificate; absent: those operations are unknown. */
  readonly certificates?: CertificateRegistry;
  /** CreateCertificateFromCsr and the thing-principal operations; absent: those operations are unknown. */
  readonly principals?: { readonly issuer: CsrCertificateIssuer; readonly principals: ThingPrincipals };
  readonly credentials: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }>;
  readonly region: string;
  readonly logger: Logger;
  /** Largest request body accepted, in bytes (default 128 KiB: a 32 KB job document plus its options). */
  readonly bodyLimit?: number;
  /** Largest accepted difference between the signature's date and now (default 15 minutes). */
  readonly maxClockSkewMs?: number;
  /** Clock for signature dates (tests). */
  readonly now?: () => Date;
}

const DEFAULT_BODY_LIMIT = 128 * 1024;
const DEFAULT_MAX_SKEW_MS = 15 * 60_000;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The local core's AWS IoT control-plane API (restJson1, SigV4 service `iot`) and the shadow data-plane
 * API (service `iotdata`) on one fastify instance, wire-compatible with @aws-sdk/client-iot and
 * @aws-sdk/client-iot-data-plane. Returned ready but not listening.
 */
export function buildControlPlane(opts: ControlPlaneOptions): ControlPlaneApp {
  if (opts.credentials.length === 0) throw new Error('buildControlPlane: configure at least one access key');
  const secrets = new Map(opts.credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  const now = opts.now ?? ((): Date => new Date());
  const maxSkewMs = opts.maxClockSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;

  const logger: FastifyBaseLogger = opts.logger;
  const app: ControlPlaneApp = Fastify({
    loggerInstance: logger,
    bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter: (errors, dataVar) =>
      new Error(
        `Invalid ${dataVar}: ` +
          errors
            .slice(0, 5)
            .map((e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message ?? 'invalid'}`)
            .join('; '),
      ),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  // Bodies stay raw bytes until the signature over them has been checked.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const authenticate = (request: FastifyRequest, reply: FastifyReply, services: readonly string[]): boolean => {
    // fastify does not read the body of a request no route matches; its signed hash then stands in.
    const bodyUnread = request.is404 && !Buffer.isBuffer(request.body);
    const verdict = verifySigV4(
      {
        method: request.method,
        rawUrl: request.raw.url ?? request.url,
        headers: request.headers,
        body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        bodyUnread,
      },
      { secrets, region: opts.region, services, now: now(), maxSkewMs },
    );
    if (verdict.ok) return true;
    request.log.warn(
      { reason: verdict.error.name, method: request.method, url: request.url },
      'control plane request not authenticated',
    );
    void replyWithAwsError(reply, { ...verdict.error, statusCode: 403 });
    return false;
  };

  app.addHook('preValidation', async (request, reply) => {
    // Signed before anything else is looked at, unknown operations included (those accept either service).
    const dataPlane = isDataPlaneRoute(request.routeOptions.url ?? '');
    const services = request.is404 ? ['iot', 'iotdata'] : dataPlane ? ['iotdata'] : ['iot'];
    if (!authenticate(request, reply, services)) return reply;
    if (request.is404 || dataPlane || !BODY_METHODS.has(request.method)) return;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    if (raw.length === 0) {
      request.body = {};
      return;
    }
    const parsed = parseJsonPayload(raw, bodyLimit);
    if (!parsed.ok) {
      const why = parsed.error.kind === 'invalid-json' ? parsed.error.detail : parsed.error.kind;
      return replyWithAwsError(reply, {
        name: 'InvalidRequestException',
        statusCode: 400,
        message: `The request body is not valid JSON: ${why}`,
      });
    }
    request.body = parsed.value;
  });

  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('x-amzn-RequestId')) reply.header('x-amzn-RequestId', randomUUID());
  });

  app.setErrorHandler((error, request, reply) => {
    if (isAwsServiceError(error)) return replyWithAwsError(reply, error);
    const fastifyError = error as { validation?: unknown; code?: string; statusCode?: number; message: string };
    if (fastifyError.validation !== undefined) {
      return replyWithAwsError(reply, {
        name: 'InvalidRequestException',
        statusCode: 400,
        message: fastifyError.message,
      });
    }
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return replyWithAwsError(reply, {
        name: 'RequestEntityTooLargeException',
        statusCode: 413,
        message: `The request body exceeds the maximum size allowed (${bodyLimit} bytes)`,
      });
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return replyWithAwsError(reply, {
        name: 'InvalidRequestException',
        statusCode: 400,
        message: fastifyError.message,
      });
    }
    request.log.error({ err: error, method: request.method, url: request.url }, 'control plane request failed');
    return replyWithAwsError(reply, {
      name: 'InternalFailureException',
      statusCode: 500,
      message: 'An unexpected error has occurred.',
    });
  });

  // Reached only after the preValidation hook has authenticated the request.
  app.setNotFoundHandler((request, reply) => {
    const path = (request.raw.url ?? request.url).split('?')[0] ?? '';
    return replyWithAwsError(reply, {
      name: 'UnknownOperationException',
      statusCode: 404,
      message: `The local IoT core does not support this operation: no operation matches ${request.method} ${path}`,
    });
  });

  registerRegistryRoutes(app, opts.registry);
  registerJobRoutes(app, opts.jobs);
  registerShadowRoutes(app, opts.shadows);
  if (opts.certificates !== undefined) registerCertificateRoutes(app, opts.certificates);
  if (opts.principals !== undefined) registerPrincipalRoutes(app, opts.principals);
  return app;
}

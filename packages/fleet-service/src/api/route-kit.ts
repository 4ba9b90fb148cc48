import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { iotFailure } from '../devices/iot-errors.js';
import type { Role } from './tokens.js';

/** The API's fastify instance as route modules see it. */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What every route module shares with build-api: authentication by role, the caller's name, the error shape. */
export interface RouteKit {
  readonly guard: (role: Role) => (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  readonly actor: (req: FastifyRequest) => string;
  readonly fail: (reply: FastifyReply, status: number, code: string, message: string) => FastifyReply;
}

/** Runs an AWS IoT call for a route: an IoT refusal becomes its status and code, anything else a 500. */
export async function viaIot<T>(
  kit: RouteKit,
  reply: FastifyReply,
  run: () => Promise<T>,
  what?: string,
): Promise<T | FastifyReply> {
  try {
    return await run();
  } catch (e) {
    const known = iotFailure(e, what);
    if (known === undefined) throw e;
    return kit.fail(reply, known.status, known.code, known.message);
  }
}

import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { AwsErrorName } from '../aws-error.js';
import type { SigV4FailureName } from './sigv4.js';

/** Every exception name the HTTP API answers with; the SDK raises an exception of the same name. */
export type ControlPlaneErrorName = AwsErrorName | SigV4FailureName;

export interface ControlPlaneErrorBody {
  readonly name: ControlPlaneErrorName;
  readonly statusCode: number;
  readonly message: string;
}

/**
 * restJson1 error shape: the status code, `x-amzn-ErrorType: <Name>` (what the SDK's error dispatch
 * reads first) and a JSON body with `message`.
 */
export function replyWithAwsError(reply: FastifyReply, e: ControlPlaneErrorBody): FastifyReply {
  return reply
    .status(e.statusCode)
    .header('x-amzn-ErrorType', e.name)
    .header('x-amzn-RequestId', randomUUID())
    .type('application/json')
    .send(JSON.stringify({ message: e.message }));
}

/**
 * The restJson1 wire form of an SDK response object: timestamps become epoch seconds (the protocol's
 * default timestamp format), undefined members disappear.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toWire(v);
    }
    return out;
  }
  return value;
}

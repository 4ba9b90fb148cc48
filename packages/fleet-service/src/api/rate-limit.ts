import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** API rate limiting: a token bucket per API token (per client address for calls without one). */
export interface RateLimitConfig {
  /** Requests a caller may make at once (the bucket's size). */
  readonly burst: number;
  /** Requests per second the bucket refills with (the sustained rate). */
  readonly perSecond: number;
  /** Buckets kept at most; full (idle) ones are dropped first, so memory stays bounded. */
  readonly maxCallers?: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { burst: 100, perSecond: 20, maxCallers: 10_000 };

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

export interface TokenBuckets {
  take(key: string): Take;
  readonly size: number;
}

export function createTokenBuckets(config: RateLimitConfig, now: () => number): TokenBuckets {
  if (!(config.burst >= 1) || !(config.perSecond > 0)) {
    throw new RangeError(
      `rate limit: burst must be at least 1 and perSecond above 0 (got ${config.burst}, ${config.perSecond})`,
    );
  }
  const max = config.maxCallers ?? DEFAULT_RATE_LIMIT.maxCallers ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (b: { tokens: number; at: number }, t: number): void => {
    b.tokens = Math.min(config.burst, b.tokens + ((t - b.at) / 1000) * config.perSecond);
    b.at = t;
  };
  const evict = (t: number): void => {
    for (const [key, b] of buckets) {
      refill(b, t);
      if (b.tokens >= config.burst) buckets.delete(key);
    }
    // Still full of busy callers: drop the oldest (Map keeps insertion order).
    while (buckets.size >= max) buckets.delete(buckets.keys().next().value as string);
  };
  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= max) evict(t);
        b = { tokens: config.burst, at: t };
        buckets.set(key, b);
      }
      refill(b, t);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: (1 - b.tokens) / config.perSecond };
    },
    get size() {
      return buckets.size;
    },
  };
}

/** Who a request counts against: its bearer token (hashed: tokens are never kept in memory maps), or its address. */
export function callerKey(req: FastifyRequest): string {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ') === true) {
    return `t:${createHash('sha256').update(header.slice(7)).digest('base64url').slice(0, 22)}`;
  }
  return `ip:${req.ip}`;
}

/**
 * Limits the operator API (`/v1/...`); devices' bundle downloads, /health, /ready and /metrics are not limited.
 * Over the rate: 429 with Retry-After (whole seconds, rounded up) and a JSON error.
 */
export function registerRateLimit(
  app: FastifyInstance,
  config: RateLimitConfig,
  now: () => number,
  onLimited?: () => void,
): void {
  const buckets = createTokenBuckets(config, now);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    const taken = buckets.take(callerKey(req));
    if (taken.ok) return;
    onLimited?.();
    const seconds = Math.max(1, Math.ceil(taken.retryAfterSeconds));
    await reply
      .code(429)
      .header('retry-after', String(seconds))
      .send({
        code: 'RATE_LIMITED',
        message: `over the rate of ${config.perSecond} requests per second (bursts of ${config.burst}); retry after ${seconds} s`,
      });
  });
}

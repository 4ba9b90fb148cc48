import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HTTP_HEALTH_CHECK_BODY_BYTES, type HealthCheckSpec } from '@otafleet/protocol';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

type HttpCheck = Extract<HealthCheckSpec, { kind: 'http' }>;
const DEFAULT_TIMEOUT_S = 5;

/** The first `limit` bytes of the body as text; the rest is not read (a probe never buffers a large answer). */
function bodyStart(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      res.destroy();
      resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= limit) done();
    });
    res.once('end', done);
    res.once('error', reject);
  });
}

/**
 * One GET on node:http(s), not the global fetch: fetch's HTTP parser is WebAssembly, which the unit's
 * `--lite-mode` turns off (BENCHMARKS.md, agent idle RSS). No redirect is followed; no connection is reused.
 */
function get(url: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, { method: 'GET', agent: false, signal });
    req.once('error', reject);
    req.once('response', (res) => {
      bodyStart(res, HTTP_HEALTH_CHECK_BODY_BYTES).then(
        (body) => resolve({ status: res.statusCode ?? 0, body }),
        reject,
      );
    });
    req.end();
  });
}

/**
 * GET the URL: `expectStatus` (default any 2xx) and, when given, a body containing `expectBody`, within the
 * timeout, pass. A redirect is not followed.
 */
export async function probeHttp(check: HttpCheck, limitMs: number, signal: AbortSignal): Promise<CheckOutcome> {
  const timeoutMs = Math.max(1, Math.min((check.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000, limitMs));
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await get(check.url, AbortSignal.any([timeout, signal]));
    const good =
      check.expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === check.expectStatus;
    if (!good) return failed(true, `answered ${res.status}, expected ${check.expectStatus ?? '2xx'}`);
    if (check.expectBody !== undefined && !res.body.includes(check.expectBody)) {
      return failed(true, `answered ${res.status} without ${JSON.stringify(check.expectBody)} in its body`);
    }
    return passed;
  } catch (e) {
    if (timeout.aborted) return failed(false, `no answer within ${timeoutMs} ms`);
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return failed(false, cause ?? (e instanceof Error ? e.message : String(e)));
  }
}

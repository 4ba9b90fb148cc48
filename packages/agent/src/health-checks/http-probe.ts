import { HTTP_HEALTH_CHECK_BODY_BYTES, type HealthCheckSpec } from '@otafleet/protocol';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

type HttpCheck = Extract<HealthCheckSpec, { kind: 'http' }>;
const DEFAULT_TIMEOUT_S = 5;

/** The first `limit` bytes of the body as text; the rest is not read (a probe never buffers a large answer). */
async function bodyStart(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * GET the URL: `expectStatus` (default any 2xx) and, when given, a body containing `expectBody`, within the
 * timeout, pass. A redirect is not followed.
 */
export async function probeHttp(check: HttpCheck, limitMs: number, signal: AbortSignal): Promise<CheckOutcome> {
  const timeoutMs = Math.max(1, Math.min((check.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000, limitMs));
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(check.url, { redirect: 'manual', signal: AbortSignal.any([timeout, signal]) });
    const body = await bodyStart(res, HTTP_HEALTH_CHECK_BODY_BYTES);
    const good =
      check.expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === check.expectStatus;
    if (!good) return failed(true, `answered ${res.status}, expected ${check.expectStatus ?? '2xx'}`);
    if (check.expectBody !== undefined && !body.includes(check.expectBody)) {
      return failed(true, `answered ${res.status} without ${JSON.stringify(check.expectBody)} in its body`);
    }
    return passed;
  } catch (e) {
    if (timeout.aborted) return failed(false, `no answer within ${timeoutMs} ms`);
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return failed(false, cause ?? (e instanceof Error ? e.message : String(e)));
  }
}

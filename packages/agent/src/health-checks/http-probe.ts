import type { HealthCheckSpec } from '@otafleet/protocol';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

type HttpCheck = Extract<HealthCheckSpec, { kind: 'http' }>;
const DEFAULT_TIMEOUT_S = 5;

/** GET the URL: `expectStatus` (default any 2xx) within the timeout passes; a redirect is not followed. */
export async function probeHttp(check: HttpCheck, limitMs: number, signal: AbortSignal): Promise<CheckOutcome> {
  const timeoutMs = Math.max(1, Math.min((check.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000, limitMs));
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(check.url, { redirect: 'manual', signal: AbortSignal.any([timeout, signal]) });
    await res.arrayBuffer();
    const good =
      check.expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === check.expectStatus;
    if (good) return passed;
    return failed(true, `answered ${res.status}, expected ${check.expectStatus ?? '2xx'}`);
  } catch (e) {
    if (timeout.aborted) return failed(false, `no answer within ${timeoutMs} ms`);
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return failed(false, cause ?? (e instanceof Error ? e.message : String(e)));
  }
}

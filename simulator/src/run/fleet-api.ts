import type {
  AuditEntry,
  CreateRolloutBody,
  EnrolBody,
  EnrolResult,
  RolloutRecord,
  StoredBundle,
  WaveRecord,
} from '@otafleet/fleet-service';

export type RolloutView = RolloutRecord & { readonly waves: readonly WaveRecord[] };

export class FleetApiError extends Error {
  override readonly name = 'FleetApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The fleet service's operator API, as the simulator uses it (the same routes an operator's tools use). */
export interface FleetApi {
  uploadBundle(bytes: Buffer): Promise<StoredBundle>;
  /** `POST /v1/devices/bulk` (at most MAX_BULK_DEVICES): one result per device, in order. */
  enrolMany(devices: readonly EnrolBody[], concurrency?: number): Promise<readonly EnrolResult[]>;
  createRollout(body: CreateRolloutBody): Promise<RolloutView>;
  rollout(id: string): Promise<RolloutView>;
  audit(id: string): Promise<readonly AuditEntry[]>;
}

/** Answers over the service's rate limit are retried after its Retry-After, this many times. */
const RATE_LIMIT_RETRIES = 10;

export function fleetApi(endpoint: string, token: string): FleetApi {
  const call = async <T>(method: string, path: string, body?: { type: string; data: string | Buffer }): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${endpoint}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': body.type }),
          },
          ...(body === undefined ? {} : { body: body.data }),
        });
      } catch (e) {
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is its cause.
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
        throw new FleetApiError(0, 'UNREACHABLE', `${method} ${path}: cannot reach ${endpoint} (${why})`);
      }
      const text = await response.text();
      if (response.status === 429 && attempt < RATE_LIMIT_RETRIES) {
        const seconds = Number(response.headers.get('retry-after') ?? 1);
        await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(seconds) ? seconds : 1, 30) * 1000));
        continue;
      }
      if (!response.ok) {
        let code = 'HTTP_ERROR';
        let message = text;
        try {
          const parsed = JSON.parse(text) as { code?: string; message?: string };
          code = parsed.code ?? code;
          message = parsed.message ?? message;
        } catch {
          // not JSON: keep the text
        }
        throw new FleetApiError(response.status, code, `${method} ${path}: ${response.status} ${code}: ${message}`);
      }
      return JSON.parse(text) as T;
    }
  };
  const json = (value: unknown): { type: string; data: string } => ({
    type: 'application/json',
    data: JSON.stringify(value),
  });
  return {
    uploadBundle: (bytes) => call('POST', '/v1/bundles', { type: 'application/octet-stream', data: bytes }),
    enrolMany: async (devices, concurrency) =>
      (
        await call<{ results: EnrolResult[] }>(
          'POST',
          '/v1/devices/bulk',
          json({ devices, ...(concurrency === undefined ? {} : { concurrency }) }),
        )
      ).results,
    createRollout: (body) => call('POST', '/v1/rollouts', json(body)),
    rollout: (id) => call('GET', `/v1/rollouts/${encodeURIComponent(id)}`),
    audit: async (id) =>
      (await call<{ entries: AuditEntry[] }>('GET', `/v1/rollouts/${encodeURIComponent(id)}/audit`)).entries,
  };
}

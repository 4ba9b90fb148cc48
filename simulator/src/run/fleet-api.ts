import type { AuditEntry, CreateRolloutBody, RolloutRecord, StoredBundle, WaveRecord } from '@otafleet/fleet-service';

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
  createRollout(body: CreateRolloutBody): Promise<RolloutView>;
  rollout(id: string): Promise<RolloutView>;
  audit(id: string): Promise<readonly AuditEntry[]>;
}

export function fleetApi(endpoint: string, token: string): FleetApi {
  const call = async <T>(method: string, path: string, body?: { type: string; data: string | Buffer }): Promise<T> => {
    const response = await fetch(`${endpoint}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': body.type }),
      },
      ...(body === undefined ? {} : { body: body.data }),
    });
    const text = await response.text();
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
  };
  return {
    uploadBundle: (bytes) => call('POST', '/v1/bundles', { type: 'application/octet-stream', data: bytes }),
    createRollout: (body) => call('POST', '/v1/rollouts', { type: 'application/json', data: JSON.stringify(body) }),
    rollout: (id) => call('GET', `/v1/rollouts/${encodeURIComponent(id)}`),
    audit: async (id) =>
      (await call<{ entries: AuditEntry[] }>('GET', `/v1/rollouts/${encodeURIComponent(id)}/audit`)).entries,
  };
}

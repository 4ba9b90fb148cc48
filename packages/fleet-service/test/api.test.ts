/** The operator API over real HTTP (fastify's listener), with real SQLite stores and real signed bundles. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBundleUrl } from '@otafleet/protocol';
import { DEFAULT_GATE, planWaves, type BundleStore, type RolloutStore } from '@otafleet/fleet-service';
import { startTestApi } from './api-fixture.js';
import { bundleBytes, testSigner } from './fleet-bundles.js';

const urlKey = Buffer.from('u'.repeat(32));
const signer = testSigner('release-2026');
let app: FastifyInstance;
let base: string;
let rollouts: RolloutStore;
let bundles: BundleStore;
let admin: string;
let viewer: string;
let bundleFile: Buffer;

const call = (path: string, init: RequestInit & { token?: string } = {}): Promise<Response> =>
  fetch(`${base}${path}`, {
    ...init,
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
  });
const json = async (r: Response): Promise<Record<string, unknown>> => (await r.json()) as Record<string, unknown>;

beforeAll(async () => {
  const api = await startTestApi({ signer, urlKey });
  ({ app, base, rollouts, bundles } = api);
  admin = api.adminToken;
  viewer = api.viewerToken;
  bundleFile = await bundleBytes(signer, '1.1.0');
});
afterAll(async () => {
  await app?.close();
});

describe('operator API', () => {
  it('refuses a missing or unknown token with 401 and a too-small role with 403, naming the role', async () => {
    expect((await call('/v1/rollouts')).status).toBe(401);
    expect((await call('/v1/rollouts', { token: 'ofs_nope' })).status).toBe(401);
    const forbidden = await call('/v1/bundles', {
      method: 'POST',
      token: viewer,
      body: new Uint8Array(bundleFile),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(forbidden.status).toBe(403);
    expect(await json(forbidden)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('operator') });
  });

  it('stores an uploaded bundle (201, then 200 for the same bytes) and refuses a bad one with its code (422)', async () => {
    const upload = (body: Uint8Array) =>
      call('/v1/bundles', {
        method: 'POST',
        token: admin,
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
    const first = await upload(new Uint8Array(bundleFile));
    expect(first.status).toBe(201);
    expect(await json(first)).toMatchObject({ manifest: { version: '1.1.0' }, uploadedBy: 'alice' });
    expect((await upload(new Uint8Array(bundleFile))).status).toBe(200);
    const tampered = Buffer.from(bundleFile);
    tampered[tampered.byteLength - 10] = (tampered[tampered.byteLength - 10] ?? 0) ^ 1;
    const refused = await upload(new Uint8Array(tampered));
    expect(refused.status).toBe(422);
    expect(await json(refused)).toMatchObject({ code: 'BUNDLE_PAYLOAD_DIGEST_MISMATCH' });
    expect((await upload(new Uint8Array(2_000_000))).status).toBe(413);
    const wrongType = await call('/v1/bundles', { method: 'POST', token: admin, body: '{}' });
    expect(wrongType.status).toBe(415);
    expect((await json(await call('/v1/bundles', { token: viewer }))).bundles).toHaveLength(1);
  });

  it('serves a bundle to a signed URL only, with Range, and refuses expired or forged URLs', async () => {
    const [stored] = await bundles.list();
    const sha = stored?.sha256 ?? '';
    const path = (expiresAt: number): string =>
      new URL(signBundleUrl(`${base}/bundles/${sha}.otab`, urlKey, expiresAt)).pathname +
      new URL(signBundleUrl(`${base}/bundles/${sha}.otab`, urlKey, expiresAt)).search;
    const whole = await call(path(Date.now() + 60_000));
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bundleFile)).toBe(true);
    const part = await call(path(Date.now() + 60_000), { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bundleFile.byteLength}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bundleFile.subarray(100, 200))).toBe(true);
    const tail = await call(path(Date.now() + 60_000), { headers: { range: 'bytes=1000-' } });
    expect((await tail.arrayBuffer()).byteLength).toBe(bundleFile.byteLength - 1000);
    expect((await call(path(Date.now() + 60_000), { headers: { range: 'bytes=999999999-' } })).status).toBe(416);
    const expired = await call(path(Date.now() - 1_000));
    expect(expired.status).toBe(403);
    expect(await json(expired)).toMatchObject({ code: 'URL_EXPIRED' });
    expect((await call(`/bundles/${sha}.otab`)).status).toBe(403);
    expect((await call(path(Date.now() + 60_000).replace(/signature=[0-9a-f]{4}/, 'signature=0000'))).status).toBe(403);
  });

  it('answers bad bodies and params with 400 naming the field, unknown ids with 404', async () => {
    const body = {
      name: 'x',
      bundleId: 'nothex',
      target: { kind: 'group', groupName: 'lab' },
      waves: [{ percent: 100 }],
      onBreach: 'pause',
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    const bad = await call('/v1/rollouts', { method: 'POST', token: admin, body: JSON.stringify(body) });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('bundleId') });
    const malformed = await call('/v1/rollouts', { method: 'POST', token: admin, body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect((await call('/v1/rollouts/bad id!', { token: viewer })).status).toBe(400);
    expect((await call('/v1/rollouts/nope', { token: viewer })).status).toBe(404);
    expect((await call('/v1/rollouts/nope/pause', { method: 'POST', token: admin, body: '{}' })).status).toBe(404);
    expect((await call('/v1/rollouts/nope/explode', { method: 'POST', token: admin, body: '{}' })).status).toBe(400);
    const unknownBundle = await call('/v1/rollouts', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ ...body, bundleId: 'a'.repeat(64) }),
    });
    expect(unknownBundle.status).toBe(422);
    expect(await json(unknownBundle)).toMatchObject({ code: 'UNKNOWN_BUNDLE' });
  });

  it('takes operator actions through the transition table: 200 when legal, 409 naming why when not', async () => {
    const definition = {
      name: 'n',
      bundle: { bundleId: 'b', version: '1.1.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    await rollouts.createRollout('r1', definition, planWaves(['pi-1'], definition.waves, 's'), {
      at: 1,
      actor: 'test',
    });
    const paused = await call('/v1/rollouts/r1/pause', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ reason: 'holiday' }),
    });
    expect(paused.status).toBe(200);
    expect(await json(paused)).toMatchObject({ status: 'paused', statusReason: 'holiday' });
    const again = await call('/v1/rollouts/r1/pause', { method: 'POST', token: admin, body: '{}' });
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('paused') });
    expect((await call('/v1/rollouts/r1/resume', { method: 'POST', token: viewer, body: '{}' })).status).toBe(403);
    const audit = await json(await call('/v1/rollouts/r1/audit', { token: viewer }));
    expect(audit.entries).toEqual([
      expect.objectContaining({ action: 'created' }),
      expect.objectContaining({ action: 'pause', actor: 'alice', detail: 'holiday' }),
    ]);
    const listed = await json(await call('/v1/rollouts?status=paused', { token: viewer }));
    expect((listed.rollouts as unknown[]).length).toBe(1);
    expect((await call('/v1/rollouts?status=sleeping', { token: viewer })).status).toBe(400);
  });

  it('serves health, readiness, metrics and the OpenAPI document without a token', async () => {
    expect((await call('/health')).status).toBe(200);
    expect((await call('/ready')).status).toBe(200);
    const metrics = await (await call('/metrics')).text();
    expect(metrics).toContain('ota_dead_letters_total 0');
    expect(metrics).toContain('ota_rollouts{status="paused"} 1');
    const openapi = await json(await call('/docs/json'));
    expect(Object.keys(openapi.paths as object)).toEqual(
      expect.arrayContaining(['/v1/rollouts', '/v1/rollouts/{id}/{action}', '/v1/bundles']),
    );
  });
});

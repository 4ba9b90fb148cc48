/**
 * The operator API's operations parts over real HTTP and real SQLite: per-token rate limiting (429 +
 * Retry-After), the scheduling fields of a rollout (400 naming the field), /metrics after activity, and the
 * admin backup routes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  DEFAULT_GATE,
  createServiceMetrics,
  createTokenBuckets,
  planWaves,
  startBackups,
  type BackupService,
  type ServiceMetrics,
} from '@otafleet/fleet-service';
import { startTestApi, type TestApi } from './api-fixture.js';
import { bundleBytes, chunks, testSigner } from './fleet-bundles.js';

const signer = testSigner('release-2026');
const BOOT = randomUUID();
let api: TestApi;
/** A second API with a small rate limit (the first has none), sharing the metrics. */
let limitedApi: TestApi;
let metrics: ServiceMetrics;
let backups: BackupService;

const call = (path: string, init: { method?: string; token?: string; body?: string; on?: TestApi } = {}) =>
  fetch(`${(init.on ?? api).base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });

beforeAll(async () => {
  metrics = createServiceMetrics();
  api = await startTestApi({
    signer,
    urlKey: Buffer.alloc(32),
    extra: (dir) => {
      backups = startBackups({ dataDir: dir, now: Date.now, logger: pino({ level: 'silent' }) });
      return { metrics, backups, rateLimit: false };
    },
  });
  limitedApi = await startTestApi({
    signer,
    urlKey: Buffer.alloc(32),
    extra: () => ({ metrics, rateLimit: { burst: 5, perSecond: 0.5 } }),
  });
});
afterAll(async () => {
  await backups?.stop();
  await api?.app.close();
  await limitedApi?.app.close();
});

describe('token buckets', () => {
  it('lets a burst through, then refills at the rate, and says how long to wait', () => {
    let t = 0;
    const buckets = createTokenBuckets({ burst: 2, perSecond: 4 }, () => t);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 0.25 });
    expect(buckets.take('b').ok).toBe(true); // another caller has its own bucket
    t = 250;
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    expect(() => createTokenBuckets({ burst: 0, perSecond: 1 }, () => t)).toThrow(/burst/);
  });

  it('keeps at most maxCallers buckets, dropping idle ones first', () => {
    let t = 0;
    const buckets = createTokenBuckets({ burst: 1, perSecond: 1, maxCallers: 3 }, () => t);
    for (const k of ['a', 'b', 'c', 'd', 'e']) buckets.take(k);
    expect(buckets.size).toBeLessThanOrEqual(3);
    t = 10_000;
    buckets.take('f');
    expect(buckets.size).toBe(1);
  });
});

describe('operator API: operations', () => {
  it('answers a token over its rate with 429 and Retry-After; another token is not affected', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 7; i++) {
      const r = await call('/v1/bundles', { token: limitedApi.viewerToken, on: limitedApi });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(limited?.headers.get('retry-after')).toMatch(/^[12]$/);
    expect(await limited?.json()).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('retry after'),
    });
    expect((await call('/v1/bundles', { token: limitedApi.adminToken, on: limitedApi })).status).toBe(200);
    // Not limited: liveness, metrics.
    for (let i = 0; i < 8; i++) expect((await call('/health', { on: limitedApi })).status).toBe(200);
  });

  it('refuses bad maintenance windows and rates with 400 naming the field (AWS’s text for rates)', async () => {
    const put = await api.bundles.put(chunks(await bundleBytes(signer, '3.0.0')), {
      uploadedBy: 'alice',
      at: Date.now(),
      maxBytes: 10_000_000,
    });
    if (!put.ok) throw new Error(put.error.message);
    const body = {
      name: 'x',
      bundleId: put.value.bundle.sha256,
      target: { kind: 'group', groupName: 'lab' },
      waves: [{ percent: 100 }],
      onBreach: 'pause',
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    const post = async (extra: object) => {
      const r = await call('/v1/rollouts', {
        method: 'POST',
        token: api.adminToken,
        body: JSON.stringify({ ...body, ...extra }),
      });
      return { status: r.status, body: (await r.json()) as { code: string; message: string } };
    };
    expect(await post({ maintenance: { windows: [{ cron: '0 2 31 * 1', durationMinutes: 60 }] } })).toEqual({
      status: 400,
      body: {
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^body\.maintenance\.windows\[0\]\.cron: .*not both/),
      },
    });
    expect(
      (
        await post({
          maintenance: { timeZone: 'America/New_York', windows: [{ cron: '0 2 * * *', durationMinutes: 60 }] },
        })
      ).body.message,
    ).toMatch(/^body\.maintenance\.timeZone: .*daylight saving/);
    expect(
      (await post({ maintenance: { windows: [{ cron: '0 2 * * *', durationMinutes: 2000 }] } })).body.message,
    ).toMatch(/^body\.maintenance\.windows\[0\]\.durationMinutes/);
    expect((await post({ rate: { maximumPerMinute: 5000 } })).body.message).toBe(
      "body.rate.maximumPerMinute: 1 validation error detected: Value '5000' at 'jobExecutionsRolloutConfig.maximumPerMinute' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    expect((await post({ rate: { maximumPerMinute: 5 }, maxPerMinute: 5 })).body.message).toMatch(
      /^body\.maxPerMinute: give the rate once/,
    );
    expect(await api.rollouts.listRollouts()).toEqual([]);
  });

  it('carries rollouts, waves, device states, job updates, dead letters and request latencies in /metrics', async () => {
    const definition = {
      name: 'm',
      bundle: { bundleId: 'b', version: '1.1.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ count: 1 }, { percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    await api.rollouts.createRollout('m1', definition, planWaves(['pi-1', 'pi-2'], definition.waves, 's'), {
      at: 1,
      actor: 't',
    });
    await api.rollouts.applyRolloutEvent('m1', 'start', { at: 2, actor: 't' });
    const report = (thingName: string, status: string, sequence: number) => ({
      topic: `dt/${thingName}/health`,
      receivedAt: Date.now(),
      payload: Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          thingName,
          bootId: BOOT,
          bootCount: 1,
          sequence,
          timestamp: Date.now(),
          agentVersion: '0.1.0',
          firmwareVersion: '1.0.0',
          hardwareType: 'rpi4',
          activeSlot: 'A',
          status,
          uptimeSeconds: 60,
          counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 1 },
          rollbackCount: 0,
          checks: [],
        }),
      ),
    });
    const outcomes = await api.health.ingest([
      report('pi-1', 'healthy', 1),
      report('pi-2', 'degraded', 1),
      report('pi-2', 'degraded', 1),
      { topic: 'dt/pi-3/health', receivedAt: Date.now(), payload: Buffer.from('{not json') },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'duplicate', 'dead-letter']);
    metrics.observeJobCounts('m1', 0, { targeted: 1, queued: 1, inProgress: 0, succeeded: 0, failed: 0 });
    metrics.observeJobCounts('m1', 0, { targeted: 1, queued: 0, inProgress: 0, succeeded: 1, failed: 0 });
    await call('/v1/rollouts/m1', { token: api.adminToken });

    const text = await (await call('/metrics')).text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    expect(value('ota_rollouts{status="running"}')).toBe(1);
    expect(value('ota_waves{status="pending"}')).toBe(2);
    expect(value('ota_devices{status="healthy"}')).toBe(1);
    expect(value('ota_devices{status="degraded"}')).toBe(1);
    expect(value('ota_health_reports_total{outcome="stored"}')).toBe(2);
    expect(value('ota_health_reports_total{outcome="duplicate"}')).toBe(1);
    expect(value('ota_dead_letters_total')).toBe(1);
    expect(value('ota_dead_letters_by_code{code="INVALID_JSON"}')).toBe(1);
    expect(value('ota_job_executions{rollout="m1",wave="0",state="succeeded"}')).toBe(1);
    expect(value('ota_job_updates_total{outcome="succeeded"}')).toBe(1);
    expect(value('ota_api_rate_limited_total')).toBeGreaterThanOrEqual(2);
    const route = 'method="GET",route="/v1/rollouts/:id",status_class="2xx"';
    expect(value(`ota_http_request_duration_seconds_count{${route}}`)).toBe(1);
    expect(value(`ota_http_request_duration_seconds_bucket{${route},le="+Inf"}`)).toBe(1);
    expect(value(`ota_http_request_duration_seconds_sum{${route}}`)).toBeGreaterThan(0);
    expect(value(`ota_http_request_duration_seconds_sum{${route}}`)).toBeLessThan(10);
    expect(text).toContain('# TYPE ota_http_request_duration_seconds histogram');

    // The Grafana dashboard in docs/ queries only metrics this endpoint exposes.
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const queried = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) =>
        [...t.expr.matchAll(/\bota_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
      ),
    );
    expect(queried.length).toBeGreaterThanOrEqual(11);
    expect(queried.filter((name) => !exposed.has(name))).toEqual([]);
    expect(dashboard.panels.every((p) => p.targets.length > 0)).toBe(true);
  });

  it('takes, lists and serves backups for admins only', async () => {
    expect((await call('/v1/backups', { method: 'POST', token: api.viewerToken })).status).toBe(403);
    const taken = await call('/v1/backups', { method: 'POST', token: api.adminToken });
    expect(taken.status).toBe(201);
    const info = (await taken.json()) as { name: string; bytes: number; databases: string[]; bundleFiles: number };
    expect(info.databases).toEqual(['rollouts.sqlite', 'health.sqlite', 'tokens.sqlite', 'bundles/bundles.db']);
    expect(info.bundleFiles).toBe(1);
    expect(info).not.toHaveProperty('file');
    const listed = (await (await call('/v1/backups', { token: api.adminToken })).json()) as {
      backups: { name: string }[];
    };
    expect(listed.backups.map((b) => b.name)).toEqual([info.name]);
    const download = await call(`/v1/backups/${info.name}`, { token: api.adminToken });
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBe(info.bytes);
    expect(
      (await call('/v1/backups/fleet-backup-2020-01-01T00-00-00-000Z.sqlite', { token: api.adminToken })).status,
    ).toBe(404);
  });
});

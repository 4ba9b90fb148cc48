/**
 * Devices and groups through the operator API (real HTTP) against a real local core: enrolment with each kind of
 * certificate, the enrolled device on mTLS with its new certificate, bulk enrolment, filtered listing, groups,
 * update history and a rollout targeting a fleet-indexing query. Every bad input gets its 400 and changes nothing.
 */
import { CreateJobCommand, DescribeThingCommand, ListThingPrincipalsCommand } from '@aws-sdk/client-iot';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { closed, connectTls, subscribeCodes, tryConnectTls } from '@otafleet/iot-core/testing';
import { DEFAULT_GATE, generateKeyAndCsr, planWaves } from '@otafleet/fleet-service';
import { healthReportTopic, jobsRequestTopic, jobsResponseTopic, type HealthReportV2 } from '@otafleet/protocol';
import { ONLINE_WINDOW_MS, startDeviceApi, type DeviceApi } from './devices-fixture.js';
import { bundleBytes } from './fleet-bundles.js';

let api: DeviceApi;
let admin: string;
let viewer: string;
const json = async (r: Response): Promise<Record<string, unknown>> => (await r.json()) as Record<string, unknown>;
const clients: MqttClient[] = [];

beforeAll(async () => {
  api = await startDeviceApi();
  admin = api.adminToken;
  viewer = api.viewerToken;
});
afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await api?.close();
});

const enrol = (body: unknown, token = admin) => api.call('/v1/devices', { method: 'POST', token, json: body });
const thingExists = async (thingName: string): Promise<boolean> =>
  api.iot.send(new DescribeThingCommand({ thingName })).then(
    () => true,
    () => false,
  );
const connectAs = async (thingName: string, cert: string, key: string): Promise<MqttClient> => {
  const client = await connectTls({
    port: api.core.endpoints.mqttTls,
    clientId: thingName,
    ca: api.core.pki.caPem,
    cert,
    key,
  });
  clients.push(client);
  return client;
};

describe('enrolment', () => {
  it('refuses callers without a token (401) and viewers (403)', async () => {
    expect((await api.call('/v1/devices')).status).toBe(401);
    const forbidden = await enrol({ thingName: 'x-1', certificate: { kind: 'none' } }, viewer);
    expect(forbidden.status).toBe(403);
    expect(
      (
        await api.call('/v1/devices/bulk', {
          method: 'POST',
          token: viewer,
          json: { devices: [{ thingName: 'x-2', certificate: { kind: 'none' } }] },
        })
      ).status,
    ).toBe(403);
    expect(
      (await api.call('/v1/groups', { method: 'POST', token: viewer, json: { kind: 'static', groupName: 'x-g' } }))
        .status,
    ).toBe(403);
    expect(await thingExists('x-1')).toBe(false);
  });

  it('signs a device CSR; the device connects over mTLS with it and reaches only its own topics', async () => {
    const { keyPem, csrPem } = await generateKeyAndCsr('dev-csr-1');
    const created = await enrol({
      thingName: 'dev-csr-1',
      attributes: { hardwareType: 'rpi4' },
      groups: ['lab'],
      createGroups: true,
      certificate: { kind: 'csr', csr: csrPem },
    });
    expect(created.status).toBe(201);
    const body = await json(created);
    expect(body).toMatchObject({
      ok: true,
      created: true,
      groups: ['lab'],
      certificateId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(body).not.toHaveProperty('privateKeyPem');
    const principals = await api.iot.send(new ListThingPrincipalsCommand({ thingName: 'dev-csr-1' }));
    expect(principals.principals).toEqual([body.certificateArn]);

    const client = await connectAs('dev-csr-1', String(body.certificatePem), keyPem);
    expect(await subscribeCodes(client, 'dt/dev-csr-1/#')).toEqual([1]);
    expect((await subscribeCodes(client, 'dt/other-thing/#'))[0]).toBeGreaterThanOrEqual(0x80);
    // Publishing to another thing's topic closes the connection (AWS's AUTH_ERROR).
    const gone = closed(client, 10_000);
    client.publish('dt/other-thing/health', '{}', { qos: 1 });
    expect(await gone).toBe(true);
    // Its certificate names dev-csr-1 only: another client id is refused.
    const wrongId = await tryConnectTls({
      port: api.core.endpoints.mqttTls,
      clientId: 'someone-else',
      ca: api.core.pki.caPem,
      cert: String(body.certificatePem),
      key: keyPem,
    });
    expect(wrongId.ok).toBe(false);

    // Enrolling again with the same CSR is idempotent: 200, the same certificate, nothing new attached.
    const again = await enrol({ thingName: 'dev-csr-1', certificate: { kind: 'csr', csr: csrPem } });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ created: false, certificateId: body.certificateId });
    expect((await api.iot.send(new ListThingPrincipalsCommand({ thingName: 'dev-csr-1' }))).principals).toHaveLength(1);
  });

  it('generates the key pair when asked (returned once) and attaches an existing certificate by ARN', async () => {
    const generated = await enrol({ thingName: 'dev-gen-1', certificate: { kind: 'generate' } });
    expect(generated.status).toBe(201);
    const g = await json(generated);
    expect(String(g.privateKeyPem)).toContain('PRIVATE KEY');
    const client = await connectAs('dev-gen-1', String(g.certificatePem), String(g.privateKeyPem));
    expect(await subscribeCodes(client, '$aws/things/dev-gen-1/jobs/notify-next')).toEqual([1]);
    const viewed = await json(await api.call('/v1/devices/dev-gen-1', { token: viewer }));
    expect(viewed).toMatchObject({ enrolment: { certificateId: g.certificateId } });
    expect(JSON.stringify(viewed)).not.toContain('PRIVATE KEY');

    const attached = await enrol({
      thingName: 'dev-gen-1b',
      certificate: { kind: 'existing', certificateArn: g.certificateArn },
    });
    expect(attached.status).toBe(201);
    expect(await json(attached)).toMatchObject({ certificateId: g.certificateId });
    const unknownArn = String(g.certificateArn).replace(/.{6}$/, '000000');
    const unknown = await enrol({
      thingName: 'dev-gen-1c',
      certificate: { kind: 'existing', certificateArn: unknownArn },
    });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ code: 'NOT_FOUND', step: 'validate' });
    expect(await thingExists('dev-gen-1c')).toBe(false);
  });

  it('refuses bad bodies with 400 naming the field, and a bad CSR or missing group before anything changes', async () => {
    const cases: [unknown, string][] = [
      [{ certificate: { kind: 'none' } }, 'thingName'],
      [{ thingName: 'has space', certificate: { kind: 'none' } }, 'thingName'],
      [{ thingName: 'ok-1' }, 'certificate'],
      [{ thingName: 'ok-1', certificate: { kind: 'magic' } }, 'certificate'],
      [{ thingName: 'ok-1', certificate: { kind: 'none' }, attributes: { 'bad key!': 'x' } }, 'attributes'],
      [{ thingName: 'ok-1', certificate: { kind: 'none' }, groups: ['a b'] }, 'groups'],
      [{ thingName: 'ok-1', certificate: { kind: 'none' }, extra: 1 }, 'additional'],
    ];
    for (const [body, field] of cases) {
      const r = await enrol(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String((await json(r)).message)).toContain(field);
    }
    const garbage = await enrol({ thingName: 'ok-1', certificate: { kind: 'csr', csr: 'not a csr' } });
    expect(garbage.status).toBe(400);
    expect(await json(garbage)).toMatchObject({ code: 'INVALID_CSR' });
    const otherName = await enrol({
      thingName: 'ok-1',
      certificate: { kind: 'csr', csr: (await generateKeyAndCsr('ok-2')).csrPem },
    });
    expect(otherName.status).toBe(400);
    expect(await json(otherName)).toMatchObject({ code: 'CSR_SUBJECT_MISMATCH' });
    expect(await thingExists('ok-1')).toBe(false);
    const noGroup = await enrol({ thingName: 'ok-3', groups: ['missing-group'], certificate: { kind: 'none' } });
    expect(noGroup.status).toBe(422);
    expect(await json(noGroup)).toMatchObject({ code: 'GROUP_NOT_FOUND', step: 'validate' });
    expect(await thingExists('ok-3')).toBe(false);
    const badArn = await enrol({
      thingName: 'ok-4',
      certificate: { kind: 'existing', certificateArn: 'arn:aws:iam::1:user/x' },
    });
    expect(await json(badArn)).toMatchObject({ code: 'INVALID_CERTIFICATE_ARN' });
    expect(await thingExists('ok-4')).toBe(false);
  });

  it('enrols in bulk with per-device results, concurrency-limited, and refuses repeated or too many devices', async () => {
    const devices = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => ({
        thingName: `bulk-${String(i).padStart(2, '0')}`,
        attributes: { hardwareType: i % 2 === 0 ? 'rpi4' : 'imx8', batch: 'b1' },
        groups: ['bulk-all'],
        createGroups: true,
        certificate: { kind: 'csr', csr: (await generateKeyAndCsr(`bulk-${String(i).padStart(2, '0')}`)).csrPem },
      })),
    );
    devices[5] = { ...devices[5]!, certificate: { kind: 'csr', csr: (await generateKeyAndCsr('not-bulk-05')).csrPem } };
    devices[7] = { ...devices[7]!, groups: ['no-such-group'], createGroups: false };
    const r = await api.call('/v1/devices/bulk', { method: 'POST', token: admin, json: { devices, concurrency: 4 } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { summary: Record<string, number>; results: Record<string, unknown>[] };
    expect(body.summary).toEqual({ created: 38, existing: 0, failed: 2 });
    expect(body.results.map((x) => x.thingName)).toEqual(devices.map((d) => d.thingName));
    expect(body.results[5]).toMatchObject({ ok: false, code: 'CSR_SUBJECT_MISMATCH' });
    expect(body.results[7]).toMatchObject({ ok: false, code: 'GROUP_NOT_FOUND' });
    expect(await thingExists('bulk-05')).toBe(false);
    expect(await thingExists('bulk-07')).toBe(false);
    // The same file again: every device already exists, the certificates are the same ones.
    const again = (await (
      await api.call('/v1/devices/bulk', { method: 'POST', token: admin, json: { devices } })
    ).json()) as typeof body;
    expect(again.summary).toEqual({ created: 0, existing: 38, failed: 2 });
    expect(again.results[0]?.certificateId).toBe(body.results[0]?.certificateId);

    const repeated = await api.call('/v1/devices/bulk', {
      method: 'POST',
      token: admin,
      json: { devices: [devices[0], devices[0]] },
    });
    expect(repeated.status).toBe(400);
    expect(String((await json(repeated)).message)).toContain('bulk-00');
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ thingName: `t-${i}`, certificate: { kind: 'none' } }));
    const big = await api.call('/v1/devices/bulk', { method: 'POST', token: admin, json: { devices: tooMany } });
    expect(big.status).toBe(400);
    expect(String((await json(big)).message)).toContain('devices');
    expect(await thingExists('t-0')).toBe(false);
    expect((await api.call('/v1/devices/bulk', { method: 'POST', token: admin, json: { devices: [] } })).status).toBe(
      400,
    );
  });
});

const report = (
  thingName: string,
  version: string,
  slot: 'A' | 'B',
  status: 'healthy' | 'degraded' | 'unhealthy',
): HealthReportV2 => ({
  schemaVersion: 2,
  thingName,
  bootId: randomUUID(),
  bootCount: 1,
  sequence: 1,
  timestamp: Date.now(),
  agentVersion: '0.1.0',
  firmwareVersion: version,
  hardwareType: 'rpi4',
  activeSlot: slot,
  status,
  uptimeSeconds: 100,
  counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 10 },
  rollbackCount: 0,
  checks: [],
});

describe('listing', () => {
  beforeAll(async () => {
    const now = Date.now();
    const messages = Array.from({ length: 20 }, (_, i) => {
      const name = `bulk-${String(i).padStart(2, '0')}`;
      return {
        topic: healthReportTopic(name),
        payload: Buffer.from(
          JSON.stringify(
            report(name, i < 10 ? '1.0.0' : '1.1.0', i % 3 === 0 ? 'B' : 'A', i === 4 ? 'unhealthy' : 'healthy'),
          ),
        ),
        // bulk-00..04 last seen long ago (offline), the rest just now.
        receivedAt: i < 5 ? now - 10 * ONLINE_WINDOW_MS - i : now - i,
      };
    });
    const outcomes = await api.health.ingest(messages);
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
  });

  type Page = {
    devices: { thingName: string; connectivity: string; health?: { firmwareVersion: string } }[];
    nextToken?: string;
  };
  const list = async (query: string, token = viewer): Promise<Page> => {
    const r = await api.call(`/v1/devices?${query}`, { token });
    expect(r.status, query).toBe(200);
    return (await r.json()) as Page;
  };
  const names = (p: Page): string[] => p.devices.map((d) => d.thingName);

  it('filters by attribute, version, slot, health, last seen, connectivity and group', async () => {
    // The odd ones, but bulk-05 and bulk-07 were refused.
    expect(names(await list('attribute=hardwareType=imx8&attribute=batch=b1&limit=500'))).toHaveLength(18);
    expect(names(await list('version=1.1.0&limit=500'))).toHaveLength(10);
    expect(names(await list('version=1.0.0&slot=B'))).toEqual(['bulk-00', 'bulk-03', 'bulk-06', 'bulk-09']);
    expect(names(await list('health=unhealthy'))).toEqual(['bulk-04']);
    expect(names(await list('health=unknown&attribute=batch=b1&limit=500'))).toEqual(
      Array.from({ length: 20 }, (_, i) => `bulk-${20 + i}`).filter((n) => n !== 'bulk-05' && n !== 'bulk-07'),
    );
    const before = new Date(Date.now() - 5 * ONLINE_WINDOW_MS).toISOString();
    expect(names(await list(`lastSeenBefore=${before}`))).toEqual([
      'bulk-00',
      'bulk-01',
      'bulk-02',
      'bulk-03',
      'bulk-04',
    ]);
    // bulk-05..19 reported just now; 05 and 07 were never enrolled.
    expect(names(await list(`lastSeenAfter=${before}&limit=500`))).toHaveLength(13);
    expect(names(await list('connectivity=online&limit=500'))).toHaveLength(13);
    const offline = await list('connectivity=offline&attribute=batch=b1&limit=500');
    expect(offline.devices.every((d) => d.connectivity === 'offline')).toBe(true);
    expect(names(offline)).toHaveLength(38 - 13);
    expect(names(await list('group=lab'))).toEqual(['dev-csr-1']);
    expect(names(await list('group=bulk-all&version=1.0.0&limit=500'))).toHaveLength(8);
    expect((await api.call('/v1/devices?group=no-such-group', { token: viewer })).status).toBe(404);
  });

  it('pages with an opaque token (each device once) in any sort order, and refuses a foreign or forged token', async () => {
    for (const sort of ['thingName', 'lastSeen', 'version'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await list(
            `attribute=batch=b1&sort=${sort}&order=${order}&limit=7${token === undefined ? '' : `&nextToken=${token}`}`,
          );
          seen.push(...names(page));
          token = page.nextToken;
          pages++;
        } while (token !== undefined && pages < 20);
        expect(seen, `${sort} ${order}`).toHaveLength(38);
        expect(new Set(seen).size).toBe(38);
      }
    }
    const bySeen = await list('attribute=batch=b1&sort=lastSeen&order=desc&limit=3');
    expect(names(bySeen)).toEqual(['bulk-06', 'bulk-08', 'bulk-09']); // the newest reports (05 and 07 not enrolled)
    const first = await list('version=1.1.0&limit=2');
    const foreign = await api.call(`/v1/devices?version=1.0.0&limit=2&nextToken=${first.nextToken ?? ''}`, {
      token: viewer,
    });
    expect(foreign.status).toBe(400);
    expect(await json(foreign)).toMatchObject({ code: 'INVALID_NEXT_TOKEN' });
    const forged = await api.call('/v1/devices?nextToken=abc', { token: viewer });
    expect(forged.status).toBe(400);
  });

  it('refuses bad query values with 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['slot=C', 'slot'],
      ['health=sick', 'health'],
      ['connectivity=maybe', 'connectivity'],
      ['lastSeenBefore=yesterday', 'lastSeenBefore'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['sort=size', 'sort'],
      ['attribute=novalue', 'attribute'],
      ['group=a%20b', 'group'],
      ['nextToken=%24%24', 'nextToken'],
      ['unknown=1', 'additional'],
    ];
    for (const [query, field] of cases) {
      const r = await api.call(`/v1/devices?${query}`, { token: viewer });
      expect(r.status, query).toBe(400);
      expect(String((await json(r)).message), query).toContain(field);
    }
    expect((await api.call('/v1/devices/has%20space', { token: viewer })).status).toBe(400);
    expect((await api.call('/v1/devices/nobody', { token: viewer })).status).toBe(404);
    expect((await api.call('/v1/devices/nobody/history', { token: viewer })).status).toBe(404);
  });
});

describe('groups', () => {
  it('creates, describes, lists, fills and deletes static and dynamic groups', async () => {
    const stat = await api.call('/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'static', groupName: 'g-static', description: 'lab rack' },
    });
    expect(stat.status).toBe(201);
    expect(await json(stat)).toMatchObject({ groupName: 'g-static', kind: 'static', description: 'lab rack' });
    expect((await api.call('/v1/groups/g-static/members/bulk-01', { method: 'PUT', token: admin })).status).toBe(200);
    expect(await json(await api.call('/v1/groups/g-static/members', { token: viewer }))).toMatchObject({
      things: ['bulk-01'],
    });
    const dyn = await api.call('/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'dynamic', groupName: 'g-imx8', queryString: 'attributes.hardwareType:imx8' },
    });
    expect(dyn.status).toBe(201);
    expect(await json(dyn)).toMatchObject({ kind: 'dynamic', queryString: 'attributes.hardwareType:imx8' });
    const members = (await json(await api.call('/v1/groups/g-imx8/members?limit=250', { token: viewer })))
      .things as string[];
    expect(members).toContain('bulk-01');
    expect(members).not.toContain('bulk-00');
    const listed = (await json(await api.call('/v1/groups?limit=250', { token: viewer }))).groups as {
      groupName: string;
    }[];
    expect(listed.map((g) => g.groupName)).toEqual(expect.arrayContaining(['g-static', 'g-imx8', 'lab', 'bulk-all']));
    expect((await api.call('/v1/groups/g-static/members/bulk-01', { method: 'DELETE', token: admin })).status).toBe(
      200,
    );
    expect(await json(await api.call('/v1/groups/g-static/members', { token: viewer }))).toMatchObject({ things: [] });
    expect((await api.call('/v1/groups/g-imx8', { method: 'DELETE', token: admin })).status).toBe(200);
    expect((await api.call('/v1/groups/g-imx8', { token: viewer })).status).toBe(404);
    expect((await api.call('/v1/groups/g-static', { method: 'DELETE', token: admin })).status).toBe(200);
  });

  it('refuses bad group bodies (400), duplicates (409), bad queries (422) and unknown groups (404)', async () => {
    const bad: [unknown, string][] = [
      [{ kind: 'static' }, 'groupName'],
      [{ kind: 'dynamic', groupName: 'g-x' }, 'queryString'],
      [{ kind: 'static', groupName: 'a b' }, 'groupName'],
      [{ kind: 'weird', groupName: 'g-x' }, 'kind'],
    ];
    for (const [body, field] of bad) {
      const r = await api.call('/v1/groups', { method: 'POST', token: admin, json: body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String((await json(r)).message)).toMatch(new RegExp(`${field}|must match`));
    }
    await api.call('/v1/groups', { method: 'POST', token: admin, json: { kind: 'static', groupName: 'g-dup' } });
    // The same group again is fine (CreateThingGroup is idempotent); a dynamic one of its name is not.
    const same = await api.call('/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'static', groupName: 'g-dup' },
    });
    expect(same.status).toBe(201);
    const clash = await api.call('/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'dynamic', groupName: 'g-dup', queryString: 'thingName:x' },
    });
    expect(clash.status).toBe(409);
    expect(await json(clash)).toMatchObject({ code: 'ALREADY_EXISTS' });
    const badQuery = await api.call('/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'dynamic', groupName: 'g-q', queryString: 'attributes.x:(' },
    });
    expect(badQuery.status).toBe(422);
    expect((await api.call('/v1/groups/nope', { token: viewer })).status).toBe(404);
    expect((await api.call('/v1/groups/nope', { method: 'DELETE', token: admin })).status).toBe(404);
    expect((await api.call('/v1/groups/g-dup/members/nobody', { method: 'PUT', token: admin })).status).toBe(404);
    expect((await api.call('/v1/groups?limit=0', { token: viewer })).status).toBe(400);
  });
});

describe('history and query targets', () => {
  it("lists every job a device took part in with its status, reason code and versions, from the device's own updates", async () => {
    const { keyPem, csrPem } = await generateKeyAndCsr('dev-hist-1');
    const e = await json(await enrol({ thingName: 'dev-hist-1', certificate: { kind: 'csr', csr: csrPem } }));
    const bundle = await api.bundles.put(Readable.from([await bundleBytes(api.signer, '2.0.0')]), {
      uploadedBy: 't',
      at: Date.now(),
      maxBytes: 1_000_000,
    });
    if (!bundle.ok) throw new Error(bundle.error.message);
    const definition = {
      name: 'history rollout',
      bundle: { bundleId: bundle.value.bundle.sha256, version: '2.0.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 600,
    };
    const created = await api.rollouts.createRollout(
      'hist1',
      definition,
      planWaves(['dev-hist-1'], definition.waves, 's'),
      { at: 1, actor: 'alice' },
    );
    expect(created.ok).toBe(true);
    const target = `arn:aws:iot:us-east-1:123456789012:thing/dev-hist-1`;
    await api.iot.send(new CreateJobCommand({ jobId: 'ota-hist1-w0', targets: [target], document: '{"v":1}' }));
    await api.iot.send(new CreateJobCommand({ jobId: 'someone-elses-job', targets: [target], document: '{"v":1}' }));

    const client = await connectAs('dev-hist-1', String(e.certificatePem), keyPem);
    const update = { name: 'UpdateJobExecution', jobId: 'ota-hist1-w0' } as const;
    await client.subscribeAsync(jobsResponseTopic('dev-hist-1', update, 'accepted'), { qos: 1 });
    const accepted = new Promise<void>((resolve) =>
      client.on('message', (t) => t.endsWith('/update/accepted') && resolve()),
    );
    client.publish(
      jobsRequestTopic('dev-hist-1', update),
      JSON.stringify({
        status: 'FAILED',
        statusDetails: {
          phase: 'verifying',
          reasonCode: 'DOWNLOAD_DIGEST_MISMATCH',
          fromVersion: '1.0.0',
          toVersion: '2.0.0',
        },
      }),
      { qos: 1 },
    );
    await accepted;

    const history = await json(await api.call('/v1/devices/dev-hist-1/history', { token: viewer }));
    const entries = history.entries as Record<string, unknown>[];
    expect(entries).toHaveLength(2);
    expect(entries.find((x) => x.jobId === 'ota-hist1-w0')).toMatchObject({
      rolloutId: 'hist1',
      rolloutName: 'history rollout',
      kind: 'install',
      wave: 0,
      status: 'FAILED',
      reasonCode: 'DOWNLOAD_DIGEST_MISMATCH',
      fromVersion: '1.0.0',
      toVersion: '2.0.0',
    });
    expect(entries.find((x) => x.jobId === 'someone-elses-job')).toMatchObject({ kind: 'other', status: 'QUEUED' });
  });

  it('plans a rollout over a fleet-indexing query through a dynamic group, and refuses an invalid query', async () => {
    const bundle = (await api.bundles.list())[0];
    if (bundle === undefined) throw new Error('no bundle');
    const definition = {
      name: 'query rollout',
      bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
      target: { kind: 'query' as const, queryString: 'attributes.hardwareType:rpi4 AND attributes.batch:b1' },
      waves: [{ count: 2 }, { percent: 100 }],
      seed: 'q',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 600,
    };
    await api.engine.create('q1', definition, 'alice');
    const planned = (await api.rollouts.devices('q1')).map((d) => d.thingName).sort();
    expect(planned).toEqual(Array.from({ length: 20 }, (_, i) => `bulk-${String(i * 2).padStart(2, '0')}`).sort());
    await expect(
      api.engine.create('q2', { ...definition, target: { kind: 'query', queryString: 'attributes.x:(' } }, 'alice'),
    ).rejects.toMatchObject({ code: 'INVALID_ROLLOUT' });
  });
});

/** `pnpm fleet devices ...` and `groups ...` against the real API and a real local core, with real files. */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeThingCommand } from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTls } from '@otafleet/iot-core/testing';
import { generateKeyAndCsr } from '@otafleet/fleet-service';
import { EXIT, runFleetCli } from '../src/cli/fleet-cli.js';
import { startDeviceApi, type DeviceApi } from './devices-fixture.js';

let api: DeviceApi;
const dir = mkdtempSync(join(tmpdir(), 'fleet-devices-cli-'));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFleetCli(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { OTA_FLEET_API: api.base },
    readToken: () => Promise.resolve(api.adminToken),
  });
  return { code, out, err };
}
const exists = (thingName: string): Promise<boolean> =>
  api.iot.send(new DescribeThingCommand({ thingName })).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  api = await startDeviceApi();
});
afterAll(() => api?.close());

describe('fleet CLI: devices and groups', () => {
  it('enrols one device from its CSR and writes the certificate it connects with', async () => {
    const { keyPem, csrPem } = await generateKeyAndCsr('cli-1');
    writeFileSync(join(dir, 'cli-1.csr'), csrPem);
    const out = join(dir, 'certs');
    const r = await cli(
      'devices',
      'enrol',
      'cli-1',
      '--csr',
      join(dir, 'cli-1.csr'),
      '--attr',
      'hardwareType=rpi4',
      '--groups',
      'cli-lab',
      '--create-groups',
      '--out',
      out,
    );
    expect(r).toMatchObject({
      code: EXIT.ok,
      out: expect.stringMatching(/^enrolled cli-1 with certificate [0-9a-f]{64}/),
    });
    const cert = readFileSync(join(out, 'cli-1.cert.pem'), 'utf8');
    const client = await connectTls({
      port: api.core.endpoints.mqttTls,
      clientId: 'cli-1',
      ca: api.core.pki.caPem,
      cert,
      key: keyPem,
    });
    await client.endAsync(true);
    expect((await cli('devices', 'enrol', 'cli-1', '--csr', join(dir, 'cli-1.csr'))).out).toContain(
      'already enrolled cli-1',
    );
  });

  it('writes a generated key owner-only, and refuses --generate without --out before enrolling anything', async () => {
    const refused = await cli('devices', 'enrol', 'cli-2', '--generate');
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.err).toContain('--out');
    expect(await exists('cli-2')).toBe(false);
    const out = join(dir, 'gen');
    expect((await cli('devices', 'enrol', 'cli-2', '--generate', '--out', out)).code).toBe(EXIT.ok);
    expect(statSync(join(out, 'cli-2.key.pem')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(out, 'cli-2.cert.pem'))).toBe(true);
    const both = await cli('devices', 'enrol', 'cli-3', '--generate', '--certificate-arn', 'arn:x', '--out', out);
    expect(both.code).toBe(EXIT.usage);
    expect((await cli('devices', 'enrol', 'cli-3', '--attr', 'novalue')).code).toBe(EXIT.usage);
  });

  it('enrols a CSV file in bulk and exits 10 (partly done) when some devices failed, naming them', async () => {
    for (const n of ['csv-1', 'csv-2']) writeFileSync(join(dir, `${n}.csr`), (await generateKeyAndCsr(n)).csrPem);
    writeFileSync(join(dir, 'wrong.csr'), (await generateKeyAndCsr('someone-else')).csrPem);
    writeFileSync(
      join(dir, 'fleet.csv'),
      [
        'thingName,certificate,csr,groups,createGroups,attr:hardwareType',
        'csv-1,csr,csv-1.csr,csv-fleet,true,rpi4',
        'csv-2,csr,csv-2.csr,csv-fleet,true,imx8',
        'csv-3,csr,wrong.csr,,,rpi4',
        'csv-4,none,,,,"imx8"',
      ].join('\n'),
    );
    const r = await cli('devices', 'enrol', '--file', join(dir, 'fleet.csv'), '--out', join(dir, 'csv-certs'));
    expect(r.code).toBe(EXIT.partial);
    expect(r.out).toContain('3 created, 0 already enrolled, 1 failed');
    expect(r.out).toMatch(/csv-3\s+CSR_SUBJECT_MISMATCH/);
    expect(existsSync(join(dir, 'csv-certs', 'csv-1.cert.pem'))).toBe(true);
    writeFileSync(
      join(dir, 'fleet.json'),
      JSON.stringify([{ thingName: 'json-1', certificate: { kind: 'none' }, attributes: { hardwareType: 'rpi4' } }]),
    );
    expect((await cli('devices', 'enrol', '--file', join(dir, 'fleet.json'))).code).toBe(EXIT.ok);
    const missing = await cli('devices', 'enrol', '--file', join(dir, 'nope.csv'));
    expect(missing.code).toBe(EXIT.usage);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect((await cli('devices', 'enrol', '--file', join(dir, 'bad.json'))).code).toBe(EXIT.usage);
  });

  it('lists with filters (table and --json, --all pages), shows a device and its history', async () => {
    const listed = await cli('devices', 'list', '--attr', 'hardwareType=rpi4');
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.out.split('\n')[0]).toMatch(
      /^thingName\s+version\s+slot\s+health\s+connectivity\s+lastSeen\s+groups$/,
    );
    const json = JSON.parse(
      (await cli('--json', 'devices', 'list', '--attr', 'hardwareType=rpi4', '--limit', '1', '--all')).out,
    ) as {
      devices: { thingName: string }[];
    };
    expect(json.devices.map((d) => d.thingName).sort()).toEqual(['cli-1', 'csv-1', 'json-1']);
    const badFilter = await cli('devices', 'list', '--health', 'sick');
    expect(badFilter.code).toBe(EXIT.refused);
    expect(badFilter.err).toContain('health');
    expect(JSON.parse((await cli('devices', 'show', 'cli-1')).out)).toMatchObject({
      registry: { groups: ['cli-lab'] },
    });
    expect((await cli('devices', 'show', 'nobody')).code).toBe(EXIT.notFound);
    const history = await cli('devices', 'history', 'cli-1');
    expect(history.out).toMatch(/^cli-1 on unknown version\nqueuedAt\s+jobId/);
  });

  it('creates, lists, shows members of and deletes static and dynamic groups (csv-3 was refused: not a member)', async () => {
    expect((await cli('groups', 'create', 'cli-static', '--description', 'rack 1')).out).toContain(
      'created static group cli-static',
    );
    expect((await cli('groups', 'create', 'cli-rpi4', '--query', 'attributes.hardwareType:rpi4')).out).toContain(
      'created dynamic group',
    );
    expect((await cli('groups', 'list')).out).toMatch(/cli-rpi4/);
    expect((await cli('groups', 'members', 'cli-rpi4')).out.split('\n').filter(Boolean).sort()).toEqual([
      'cli-1',
      'csv-1',
      'json-1',
    ]);
    expect((await cli('groups', 'delete', 'cli-rpi4')).out).toContain('deleted dynamic group cli-rpi4');
    const gone = await cli('groups', 'delete', 'cli-rpi4');
    expect(gone).toMatchObject({ code: EXIT.notFound, err: expect.stringContaining('NOT_FOUND') });
    expect((await cli('groups', 'create')).code).toBe(EXIT.usage);
  });
});

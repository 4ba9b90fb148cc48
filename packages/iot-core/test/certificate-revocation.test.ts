import {
  DescribeCertificateCommand,
  IoTClient,
  ListCertificatesCommand,
  UpdateCertificateCommand,
  type CertificateStatus,
} from '@aws-sdk/client-iot';
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig } from '../src/app/config.js';
import { startLocalCore, type LocalCore } from '../src/app/local-core.js';
import { issueDeviceToDirectory } from '../src/identity/ca-store.js';
import { closed, endAll, tryConnectTls } from '../src/testing/tls-clients.js';

/**
 * Certificate revocation end to end: the real core (embedded broker, mutual TLS, SQLite), devices over mqtt.js,
 * statuses changed through @aws-sdk/client-iot and through the CA CLI as a separate process.
 */

const run = promisify(execFile);
const cliPath = join(import.meta.dirname, '../src/cli/ca-cli.ts');
const logger = pino({ level: 'silent' });
const NOT_AUTHORIZED = 5;

let dir: string;
let core: LocalCore | undefined;
let iot: IoTClient;
let caPem: string;
const clients: (MqttClient | undefined)[] = [];

interface Device {
  readonly thingName: string;
  readonly cert: string;
  readonly key: string;
  readonly certificateId: string;
}

const startCore = async (): Promise<LocalCore> => {
  const config = loadConfig(['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0'], {});
  const started = await startLocalCore(config, logger);
  iot = new IoTClient({
    endpoint: started.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
  });
  return started;
};

const issue = async (thingName: string): Promise<Device> => {
  const paths = await issueDeviceToDirectory(join(dir, 'pki'), thingName);
  const cert = await readFile(paths.certPath, 'utf8');
  const certificateId = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
  return { thingName, cert, key: await readFile(paths.keyPath, 'utf8'), certificateId };
};

const attempt = async (device: Device): Promise<Awaited<ReturnType<typeof tryConnectTls>>> => {
  const outcome = await tryConnectTls({
    port: core?.mqttTlsPort ?? 0,
    clientId: device.thingName,
    ca: caPem,
    cert: device.cert,
    key: device.key,
  });
  if (outcome.ok) clients.push(outcome.client);
  return outcome;
};

const connect = async (device: Device): Promise<MqttClient> => {
  const outcome = await attempt(device);
  if (!outcome.ok) throw new Error(`${device.thingName} did not connect: ${outcome.error}`);
  return outcome.client;
};

const setStatus = (certificateId: string, newStatus: CertificateStatus): Promise<unknown> =>
  iot.send(new UpdateCertificateCommand({ certificateId, newStatus }));

const statusOf = async (certificateId: string): Promise<string | undefined> =>
  (await iot.send(new DescribeCertificateCommand({ certificateId }))).certificateDescription?.status;

const errorOf = (p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> =>
  p.then(
    () => ({ name: 'resolved', status: undefined }),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => ({
      name: e.name,
      status: e.$metadata?.httpStatusCode,
    }),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'core-revocation-'));
  core = await startCore();
  caPem = await readFile(core.pki.caPath, 'utf8');
});

afterAll(async () => {
  await endAll(clients.splice(0));
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('certificates through @aws-sdk/client-iot', () => {
  it('lists and describes an issued certificate under its AWS id (SHA-256 of the DER)', async () => {
    const device = await issue('cert-list-1');
    await connect(device); // registered at the latest on first sight
    const listed = await iot.send(new ListCertificatesCommand({ pageSize: 250 }));
    const entry = listed.certificates?.find((c) => c.certificateId === device.certificateId);
    expect(entry).toMatchObject({
      status: 'ACTIVE',
      certificateMode: 'DEFAULT',
      certificateArn: `arn:aws:iot:us-east-1:123456789012:cert/${device.certificateId}`,
    });
    expect(entry?.creationDate).toBeInstanceOf(Date);
    const described = (await iot.send(new DescribeCertificateCommand({ certificateId: device.certificateId })))
      .certificateDescription;
    expect(described?.status).toBe('ACTIVE');
    expect(new X509Certificate(described?.certificatePem ?? '').raw.equals(new X509Certificate(device.cert).raw)).toBe(
      true,
    );
    expect(described?.validity?.notAfter?.getTime()).toBe(Date.parse(new X509Certificate(device.cert).validTo));
    // The core's own service certificate was registered at start.
    expect(listed.certificates?.length).toBeGreaterThanOrEqual(2);
  });

  it('pages with pageSize and nextMarker, newest first unless ascending', async () => {
    await issue('cert-page-1');
    await issue('cert-page-2');
    await new Promise((r) => setTimeout(r, 300)); // the pki/ watcher registers new files
    const all = (await iot.send(new ListCertificatesCommand({ pageSize: 250, ascendingOrder: true }))).certificates;
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await iot.send(new ListCertificatesCommand({ pageSize: 1, ascendingOrder: true, marker }));
      expect(page.certificates?.length).toBe(1);
      seen.push(page.certificates?.[0]?.certificateId ?? '');
      marker = page.nextMarker;
    } while (marker !== undefined);
    expect(seen).toEqual(all?.map((c) => c.certificateId));
    const descending = (await iot.send(new ListCertificatesCommand({ pageSize: 250 }))).certificates;
    expect(descending?.map((c) => c.certificateId)).toEqual(all?.map((c) => c.certificateId).reverse());
  });

  it('INACTIVE disconnects the device at once and refuses it until ACTIVE again', async () => {
    const device = await issue('cert-inactive-1');
    const client = await connect(device);
    const gone = closed(client, 3000);
    await setStatus(device.certificateId, 'INACTIVE');
    expect(await gone).toBe(true);
    const refused = await attempt(device);
    expect(refused).toMatchObject({ ok: false, returnCode: NOT_AUTHORIZED });
    expect(await statusOf(device.certificateId)).toBe('INACTIVE');
    await setStatus(device.certificateId, 'ACTIVE');
    expect((await attempt(device)).ok).toBe(true);
  });

  it('REVOKED disconnects, refuses, and can never be undone (CertificateStateException)', async () => {
    const device = await issue('cert-revoked-1');
    const other = await issue('cert-bystander-1');
    const client = await connect(device);
    const bystander = await connect(other);
    const gone = closed(client, 3000);
    const bystanderGone = closed(bystander, 1000);
    await setStatus(device.certificateId, 'REVOKED');
    expect(await gone).toBe(true);
    expect(await bystanderGone).toBe(false); // only that certificate's connections
    expect(await attempt(device)).toMatchObject({ ok: false, returnCode: NOT_AUTHORIZED });
    await setStatus(device.certificateId, 'REVOKED'); // idempotent
    for (const status of ['ACTIVE', 'INACTIVE'] as const)
      expect(await errorOf(setStatus(device.certificateId, status))).toEqual({
        name: 'CertificateStateException',
        status: 406,
      });
    expect(await statusOf(device.certificateId)).toBe('REVOKED');
  });

  it('refuses bad input with AWS errors and changes nothing', async () => {
    const device = await issue('cert-bad-input-1');
    await connect(device);
    const id = device.certificateId;
    const cases: [Promise<unknown>, string, number][] = [
      [setStatus('z'.repeat(64), 'INACTIVE'), 'InvalidRequestException', 400],
      [setStatus('abc', 'INACTIVE'), 'InvalidRequestException', 400],
      [setStatus('0'.repeat(64), 'INACTIVE'), 'ResourceNotFoundException', 404],
      [setStatus(id, 'BOGUS' as CertificateStatus), 'InvalidRequestException', 400],
      [setStatus(id, 'PENDING_TRANSFER'), 'InvalidRequestException', 400],
      [setStatus(id, 'PENDING_ACTIVATION'), 'InvalidRequestException', 400],
      [setStatus(id, 'REGISTER_INACTIVE'), 'InvalidRequestException', 400],
      [iot.send(new DescribeCertificateCommand({ certificateId: 'f'.repeat(64) })), 'ResourceNotFoundException', 404],
      [iot.send(new DescribeCertificateCommand({ certificateId: 'nothex' })), 'InvalidRequestException', 400],
      [iot.send(new ListCertificatesCommand({ pageSize: 0 })), 'InvalidRequestException', 400],
      [iot.send(new ListCertificatesCommand({ pageSize: 251 })), 'InvalidRequestException', 400],
      [iot.send(new ListCertificatesCommand({ marker: 'bm90LWEtbWFya2Vy' })), 'InvalidRequestException', 400],
    ];
    for (const [call, name, status] of cases) expect(await errorOf(call)).toEqual({ name, status });
    expect(await statusOf(id)).toBe('ACTIVE');
    expect((await attempt(device)).ok).toBe(true);
  });
});

describe('revocation state and the CA CLI', () => {
  it('`ca revoke <thing> --data-dir` against a running core disconnects the device; the state survives restart', async () => {
    const device = await issue('cert-cli-1');
    const client = await connect(device);
    const gone = closed(client, 8000);
    const cli = await run(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', cliPath, 'ca', 'revoke', device.thingName, '--data-dir', dir],
      { timeout: 20_000 },
    );
    expect(cli.stdout).toContain(`Certificate ${device.certificateId} is now REVOKED`);
    expect(await gone).toBe(true);
    expect(await statusOf(device.certificateId)).toBe('REVOKED');

    const inactive = await issue('cert-restart-1');
    await connect(inactive);
    await setStatus(inactive.certificateId, 'INACTIVE');
    await endAll(clients.splice(0));
    await core?.close();
    core = await startCore();
    expect(await statusOf(device.certificateId)).toBe('REVOKED');
    expect(await statusOf(inactive.certificateId)).toBe('INACTIVE');
    expect(await attempt(device)).toMatchObject({ ok: false, returnCode: NOT_AUTHORIZED });
    expect(await attempt(inactive)).toMatchObject({ ok: false, returnCode: NOT_AUTHORIZED });
  });

  it('`ca revoke` refuses unknown things, bad ids and an unknown certificate id with a clear error', async () => {
    const call = async (...args: string[]): Promise<{ code: number; stderr: string }> =>
      run(process.execPath, ['--conditions=source', '--import', 'tsx', cliPath, ...args, '--data-dir', dir], {
        timeout: 20_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    expect(await call('ca', 'revoke', 'no-such-thing')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('CertificateNotFound'),
    });
    expect(await call('ca', 'revoke', '0'.repeat(64))).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('CertificateNotFound'),
    });
    expect((await call('ca', 'revoke', 'bad/name')).code).toBe(2);
    // Without --data-dir, OTA_CORE_DATA_DIR names the data directory, as for `pnpm start`.
    const viaEnv = await run(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', cliPath, 'ca', 'issue-device', 'cert-env-1'],
      { timeout: 20_000, env: { ...process.env, OTA_CORE_DATA_DIR: dir } },
    );
    expect(viaEnv.stdout).toContain(join(dir, 'pki', 'things', 'cert-env-1.pem'));
    expect((await call('ca', 'revoke', 'cert-cli-1', '--status', 'ACTIVE')).code).toBe(2);
  });
});

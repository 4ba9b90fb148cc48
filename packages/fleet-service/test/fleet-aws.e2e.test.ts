/**
 * The fleet service in its AWS configuration, as its own process: a configuration file naming the local core as
 * an external AWS IoT endpoint (control plane + IoT data endpoint) and an S3-compatible server (s3rver) as the
 * bundle store, credentials from the AWS SDK's standard chain (the environment). A bundle uploaded through the
 * API lands in S3; the install jobs carry AWS's presigned-URL placeholder with a presignedUrlConfig; the core
 * (standing in for AWS assuming the role) presigns an S3 GET at every read; devices download from s3rver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  GetJobDocumentCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, presignS3Get } from '@otafleet/iot-core';
import { startTestCore, type TestCore } from '@otafleet/iot-core/testing';
import { waveJobId, type ServiceConfigFile } from '@otafleet/fleet-service';
import { bundleBytes, testSigner, trustOf } from './fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from './fleet-devices.js';
import { S3RVER_KEYS, startTestS3, type TestS3 } from './s3-server.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const signer = testSigner('release-2026');
const ROLE_ARN = 'arn:aws:iam::123456789012:role/ota-bundle-download';
const GROUP = 'aws-lab';

let s3: TestS3;
let core: TestCore;
let iot: IoTClient;
let service: ChildProcess;
let api: string;
let token: string;
const devices: FleetDevice[] = [];

/** Starts the service process and resolves with its API address once it logs that it is ready. */
function startService(configPath: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; api: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/app/service-main.ts'], {
    cwd: packageDir,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env, OTA_FLEET_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service not ready after 60 s: ${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`service exited ${code ?? 'by signal'}: ${stderr}`)));
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; api?: string };
      if (record.msg === 'fleet service ready' && record.api !== undefined) {
        clearTimeout(timer);
        resolve({ child, api: record.api });
      }
    });
  });
}

const call = async (method: string, path: string, body?: unknown, raw?: Buffer) => {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(raw !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(raw !== undefined ? { body: new Uint8Array(raw) } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  s3 = await startTestS3();
  // The service's credentials (the standard chain: the environment) are an IAM user's key, known to S3 too.
  s3.allowKey(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY);
  // The role AWS would assume to presign: here s3rver's own key, given to the core.
  core = await startTestCore({ s3Presign: { endpoint: s3.endpoint, region: s3.region, ...S3RVER_KEYS } });
  iot = core.iotClient();
  const work = mkdtempSync(join(tmpdir(), 'fleet-aws-'));
  const identity = await core.issueService('fleet-service');
  writeFileSync(join(work, 'trust.json'), JSON.stringify({ keys: trustOf(signer).keys }));
  const config: ServiceConfigFile = {
    dataDir: 'state',
    api: { host: '127.0.0.1', port: 0 },
    trust: 'trust.json',
    region: 'us-east-1',
    iot: {
      controlPlaneEndpoint: core.endpoints.http,
      dataEndpoint: `mqtts://127.0.0.1:${core.endpoints.mqttTls}`,
      certFile: identity.paths.certPath,
      keyFile: identity.paths.keyPath,
      caFile: identity.paths.caPath,
    },
    bundles: {
      s3: {
        bucket: s3.bucket,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        prefix: 'fleet/',
        presignedUrl: { roleArn: ROLE_ARN, expiresInSec: 300 },
      },
    },
  };
  writeFileSync(join(work, 'fleet.json'), JSON.stringify(config));
  const started = await startService(join(work, 'fleet.json'), {
    AWS_ACCESS_KEY_ID: DEV_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: DEV_SECRET_ACCESS_KEY,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  });
  service = started.child;
  api = started.api;
  token = readFileSync(join(work, 'state', 'operator-token'), 'utf8').trim();

  await iot.send(new CreateThingGroupCommand({ thingGroupName: GROUP }));
  for (let i = 0; i < 4; i++) {
    const thingName = `${GROUP}-${i}`;
    await iot.send(new CreateThingCommand({ thingName }));
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: GROUP, thingName }));
    const { paths } = await core.issueDevice(thingName);
    devices.push(
      await startFleetDevice({
        thingName,
        port: core.endpoints.mqttTls,
        credentials: paths,
        version: '1.0.0',
        behaviourOf: () => 'good',
        download: true,
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  if (service.exitCode === null) service.kill('SIGKILL');
  await core.stop();
  await s3.close();
});

describe('the fleet service in its AWS configuration (local core as the external endpoint, s3rver as S3)', () => {
  it('stores uploads in S3, rolls out through presigned S3 URLs to SUCCEEDED, and stops cleanly on SIGTERM', async () => {
    const bytes = await bundleBytes(signer, '2.0.0');
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    // A bad bundle is refused with the bundle library's code and lands nowhere, S3 included.
    const bad = await call('POST', '/v1/bundles', undefined, bytes.subarray(0, 3_000));
    expect(bad).toMatchObject({ status: 422, body: { code: 'BUNDLE_TRUNCATED' } });
    expect(await s3.keys()).toEqual([]);

    const uploaded = await call('POST', '/v1/bundles', undefined, bytes);
    expect(uploaded).toMatchObject({ status: 201, body: { sha256, size: bytes.byteLength } });
    expect(await s3.keys()).toEqual([`fleet/records/${sha256}.json`, `fleet/sha256/${sha256}.otab`]);
    expect((await call('GET', '/v1/bundles')).body.bundles).toEqual([expect.objectContaining({ sha256 })]);

    const created = await call('POST', '/v1/rollouts', {
      id: 'aws1',
      name: '2.0.0 to the AWS lab',
      bundleId: sha256,
      target: { kind: 'group', groupName: GROUP },
      waves: [{ count: 1 }, { percent: 100 }],
      gate: { minReportingFraction: 1 },
      onBreach: 'rollback',
      soakSeconds: 0,
      waveTimeoutSeconds: 120,
    });
    expect(created.status).toBe(201);
    const until = Date.now() + 90_000;
    let status = '';
    while (status !== 'completed') {
      status = String((await call('GET', '/v1/rollouts/aws1')).body.status);
      if (['aborted', 'rolling-back', 'rolled-back', 'canceled', 'paused'].includes(status) || Date.now() > until) {
        throw new Error(`rollout aws1 is ${status}; device failures: ${devices.flatMap((d) => d.failures).join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }

    // Every device downloaded the bundle from s3rver through a SigV4-presigned URL, checked it, and runs 2.0.0.
    for (const d of devices) {
      expect(d.version).toBe('2.0.0');
      expect(d.downloaded).toHaveLength(1);
      const url = new URL(d.downloaded[0] ?? '');
      expect(url.origin).toBe(s3.endpoint);
      expect(url.pathname).toBe(`/${s3.bucket}/fleet/sha256/${sha256}.otab`);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
      expect(url.searchParams.get('X-Amz-Credential')?.startsWith(`${S3RVER_KEYS.accessKeyId}/`)).toBe(true);
    }

    // The job is what AWS wants: the placeholder names the object's AWS URL, and the role is in presignedUrlConfig.
    const jobId = waveJobId('aws1', 1);
    const job = await iot.send(new DescribeJobCommand({ jobId }));
    expect(job.job?.presignedUrlConfig).toEqual({ roleArn: ROLE_ARN, expiresInSec: 300 });
    const document = (await iot.send(new GetJobDocumentCommand({ jobId, beforeSubstitution: true }))).document ?? '';
    expect(document).toContain(
      `"url":"\${aws:iot:s3-presigned-url:https://${s3.bucket}.s3.us-east-1.amazonaws.com/fleet/sha256/${sha256}.otab}"`,
    );

    const substituted = (await iot.send(new GetJobDocumentCommand({ jobId }))).document ?? '';
    expect(substituted).toContain(`"url":"${s3.endpoint}/${s3.bucket}/fleet/sha256/${sha256}.otab?X-Amz-Algorithm=`);

    // Reading the job document later gives a freshly signed URL (as a device's re-read after expiry does), and
    // s3rver serves it; a URL past its expiry it refuses.
    const urlIn = (doc: string): string => (JSON.parse(doc) as { download: { url: string } }).download.url;
    await new Promise((r) => setTimeout(r, 1_100));
    const reread = urlIn((await iot.send(new GetJobDocumentCommand({ jobId }))).document ?? '{}');
    expect(new URL(reread).searchParams.get('X-Amz-Date')).not.toBe(
      new URL(urlIn(substituted)).searchParams.get('X-Amz-Date'),
    );
    const fresh = await fetch(reread, { signal: AbortSignal.timeout(10_000) });
    expect(fresh.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await fresh.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha256);
    const expired = presignS3Get(
      { endpoint: s3.endpoint, region: s3.region, ...S3RVER_KEYS },
      { bucket: s3.bucket, key: `fleet/sha256/${sha256}.otab` },
      Date.now() - 400_000,
      300,
    );
    const refused = await fetch(expired, { signal: AbortSignal.timeout(10_000) });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Request has expired');

    const exited = new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the service did not exit within 20 s of SIGTERM')), 20_000);
      service.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    service.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 150_000);
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadServiceConfig,
  parseServiceConfig,
  readServiceConfigFile,
  serviceConfigFrom,
  ServiceConfigError,
  type ServiceConfigFile,
} from '@otafleet/fleet-service';
import { HEALTH_REPORT_SHARED_FILTER } from '@otafleet/protocol';
import { loadStackConfig } from '../src/app/stack-config.js';

const AWS: ServiceConfigFile = {
  dataDir: 'state',
  region: 'eu-west-1',
  iot: {
    dataEndpoint: 'mqtts://a1b2c3-ats.iot.eu-west-1.amazonaws.com:8883',
    certFile: 'fleet.crt',
    keyFile: 'fleet.key',
  },
  bundles: {
    s3: { bucket: 'ota-bundles', presignedUrl: { roleArn: 'arn:aws:iam::123456789012:role/ota-download' } },
  },
};

const dirWith = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

describe('the fleet service configuration file', () => {
  it('maps an AWS configuration onto the service: regional endpoints, the standard credential chain, S3 bundles', async () => {
    const dir = dirWith({ 'fleet.json': JSON.stringify(AWS), 'fleet.crt': 'CERT', 'fleet.key': 'KEY' });
    const { file, baseDir } = await readServiceConfigFile(join(dir, 'fleet.json'));
    const { fleet, endpoints } = await serviceConfigFrom(file, baseDir, loadStackConfig([], {}).fleet);
    expect(fleet.dataDir).toBe(join(dir, 'state'));
    expect(fleet.s3Bundles).toEqual({
      bucket: 'ota-bundles',
      region: 'eu-west-1',
      presignedUrl: { roleArn: 'arn:aws:iam::123456789012:role/ota-download', expiresInSec: 3600 },
    });
    expect(endpoints.controlPlane).toEqual({ endpoint: undefined, region: 'eu-west-1' });
    expect(endpoints.credentials).toBeUndefined();
    expect(endpoints.mqtt).toMatchObject({ url: AWS.iot.dataEndpoint, clientId: 'fleet-service' });
    expect(endpoints.mqtt.cert.toString()).toBe('CERT');
    expect(endpoints.mqtt.ca).toBeUndefined();
  });

  it.each<[string, unknown, RegExp]>([
    ['without a region', { ...AWS, region: undefined }, /region/],
    ['with an http IoT data endpoint', { ...AWS, iot: { ...AWS.iot, dataEndpoint: 'mqtt://x:1883' } }, /dataEndpoint/],
    [
      'with a role that is not an IAM role ARN',
      { ...AWS, bundles: { s3: { bucket: 'ota-bundles', presignedUrl: { roleArn: 'ota-download-role' } } } },
      /roleArn/,
    ],
    [
      'with a URL lifetime AWS does not allow',
      {
        ...AWS,
        bundles: {
          s3: {
            bucket: 'ota-bundles',
            presignedUrl: { roleArn: 'arn:aws:iam::123456789012:role/r', expiresInSec: 30 },
          },
        },
      },
      /expiresInSec/,
    ],
    ['with credentials in it', { ...AWS, accessKeyId: 'AKIA0000' }, /accessKeyId/],
  ])('refuses a configuration %s, naming the field', (_, value, field) => {
    expect(() => parseServiceConfig(value, 'fleet.json')).toThrow(ServiceConfigError);
    expect(() => parseServiceConfig(value, 'fleet.json')).toThrow(field);
  });

  it('says which file cannot be read or parsed, and which certificate is missing', async () => {
    const dir = dirWith({ 'broken.json': '{"dataDir":', 'fleet.json': JSON.stringify(AWS) });
    await expect(readServiceConfigFile(join(dir, 'absent.json'))).rejects.toThrow(/cannot read the configuration file/);
    await expect(readServiceConfigFile(join(dir, 'broken.json'))).rejects.toThrow(/broken.json is not JSON/);
    const { file, baseDir } = await readServiceConfigFile(join(dir, 'fleet.json'));
    await expect(serviceConfigFrom(file, baseDir, loadStackConfig([], {}).fleet)).rejects.toThrow(
      /cannot read the service certificate .*fleet.crt/,
    );
  });

  it('is found by --config or OTA_FLEET_CONFIG, over the fleet flags; without one it is a usage error', async () => {
    const dir = dirWith({ 'fleet.json': JSON.stringify(AWS), 'fleet.crt': 'CERT', 'fleet.key': 'KEY' });
    const byFlag = await loadServiceConfig(['--', '--config', join(dir, 'fleet.json'), '--api-port', '9000'], {});
    expect(byFlag.fleet).toMatchObject({ apiPort: 9000, dataDir: join(dir, 'state') });
    const byEnv = await loadServiceConfig([], { OTA_FLEET_CONFIG: join(dir, 'fleet.json') });
    expect(byEnv.fleet.apiPort).toBe(8080);
    await expect(loadServiceConfig([], {})).rejects.toThrow(/Usage: fleet-service --config FILE/);
    await expect(loadServiceConfig(['--config', '--api-port', '1'], {})).rejects.toThrow(ServiceConfigError);
    await expect(loadServiceConfig(['--config', join(dir, 'fleet.json'), '--api-port', 'x'], {})).rejects.toThrow(
      /--api-port/,
    );
  });

  it('ingests health over the shared subscription by default; OTA_FLEET_HEALTH_FILTER or the file overrides', async () => {
    expect(loadStackConfig([], {}).fleet.healthFilter).toBe(HEALTH_REPORT_SHARED_FILTER);
    expect(HEALTH_REPORT_SHARED_FILTER).toBe('$share/fleet-service/dt/+/health');
    expect(loadStackConfig([], { OTA_FLEET_HEALTH_FILTER: 'dt/+/health' }).fleet.healthFilter).toBe('dt/+/health');
    const base = loadStackConfig([], {}).fleet;
    const plain = dirWith({ 'fleet.json': JSON.stringify(AWS), 'fleet.crt': 'CERT', 'fleet.key': 'KEY' });
    const read = await readServiceConfigFile(join(plain, 'fleet.json'));
    expect((await serviceConfigFrom(read.file, read.baseDir, base)).fleet.healthFilter).toBe(
      HEALTH_REPORT_SHARED_FILTER,
    );
    const own = { ...AWS, healthFilter: '$share/ops/dt/+/health' };
    const dir = dirWith({ 'fleet.json': JSON.stringify(own), 'fleet.crt': 'CERT', 'fleet.key': 'KEY' });
    const { file, baseDir } = await readServiceConfigFile(join(dir, 'fleet.json'));
    expect((await serviceConfigFrom(file, baseDir, base)).fleet.healthFilter).toBe('$share/ops/dt/+/health');
  });
});

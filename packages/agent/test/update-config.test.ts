import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '@otafleet/agent';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const good = {
  thingName: 'pi-0001',
  hardwareType: 'rpi4',
  dataDir: 'data',
  broker: {
    kind: 'aws-iot',
    endpoint: 'abc-ats.iot.eu-west-1.amazonaws.com',
    port: 443,
    caFile: 'ca.pem',
    certFile: 'cert.pem',
    keyFile: 'key.pem',
  },
  slots: { kind: 'directory', root: '/opt/app' },
  trustStore: 'trust.json',
  application: { command: ['node', 'server.js'], env: { NODE_ENV: 'production' }, port: 8080 },
  healthReportIntervalSeconds: 60,
  localEndpointPort: 8181,
};

const write = (value: unknown): string => {
  const path = join(dir, 'agent.json');
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

describe('loadAgentConfig', () => {
  it('reads a valid file and resolves its paths against the file’s directory', async () => {
    const r = await loadAgentConfig(write(good));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.dataDir).toBe(join(dir, 'data'));
    expect(r.value.trustStore).toBe(join(dir, 'trust.json'));
    expect(r.value.slots.root).toBe('/opt/app');
    expect(r.value.broker.kind === 'aws-iot' && r.value.broker.certFile).toBe(join(dir, 'cert.pem'));
  });

  it('reports every issue with its path, and unknown keys', async () => {
    const r = await loadAgentConfig(
      write({
        ...good,
        thingName: 'bad name!',
        broker: { ...good.broker, port: 1883 },
        application: { command: [] },
        colour: 'blue',
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CONFIG_INVALID');
    const paths = r.error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['/thingName', '/application/command']));
    expect(paths.some((p) => p === '/broker' || p.startsWith('/broker/'))).toBe(true);
    expect(r.error.message).toMatch(/\/thingName/);
  });

  it('refuses a certificate without its key (mutual TLS needs both)', async () => {
    const r = await loadAgentConfig(
      write({ ...good, broker: { kind: 'mqtt', url: 'mqtts://127.0.0.1:8883', certFile: 'c.pem' } }),
    );
    expect(r.ok === false && r.error.issues).toEqual([
      { path: '/broker/keyFile', message: 'certFile and keyFile go together (mutual TLS)' },
    ]);
  });

  it('takes an MQTT keepalive within AWS IoT Core’s 30 to 1200 seconds and names one outside it', async () => {
    const ok = await loadAgentConfig(write({ ...good, broker: { ...good.broker, keepaliveSeconds: 300 } }));
    expect(ok.ok && ok.value.broker.keepaliveSeconds).toBe(300);
    for (const keepaliveSeconds of [29, 1201, 60.5, '60']) {
      const r = await loadAgentConfig(
        write({ ...good, broker: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', keepaliveSeconds } }),
      );
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.issues.some((i) => i.path.startsWith('/broker'))).toBe(true);
    }
  });

  it('says which file is missing or not JSON', async () => {
    const missing = await loadAgentConfig(join(dir, 'nope.json'));
    expect(missing.ok === false && missing.error.code).toBe('CONFIG_UNREADABLE');
    const broken = await loadAgentConfig(write('{"thingName": '));
    expect(broken.ok === false && broken.error.code).toBe('CONFIG_INVALID_JSON');
  });
});

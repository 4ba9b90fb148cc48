/** The device-facing options of the agent's configuration file: defaults, relative paths, and refusals with paths. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '@otafleet/agent';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-device-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  thingName: 'pi-0001',
  hardwareType: 'rpi4',
  dataDir: 'data',
  broker: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1883' },
  slots: { kind: 'directory', root: '/opt/app' },
  trustStore: 'trust.json',
  application: { command: ['node', 'server.js'] },
};

const load = (extra: Record<string, unknown>) => {
  const path = join(dir, 'agent.json');
  writeFileSync(path, JSON.stringify({ ...base, ...extra }));
  return loadAgentConfig(path);
};

describe('device-facing configuration', () => {
  it('takes remoteConfig with its path relative to the file, and 0 as "no local endpoint"', async () => {
    const r = await load({ remoteConfig: { path: 'etc/app.json', onChange: 'sighup' }, localEndpointPort: 0 });
    expect(r.ok && r.value.remoteConfig).toEqual({ path: join(dir, 'etc/app.json'), onChange: 'sighup' });
    expect(r.ok && r.value.localEndpointPort).toBe(0);
  });

  it.each([
    [{ remoteConfig: { onChange: 'reload' } }, '/remoteConfig/onChange'],
    [{ remoteConfig: { path: '' } }, '/remoteConfig/path'],
    [{ remoteConfig: { file: 'x' } }, '/remoteConfig/file'],
    [{ localEndpointPort: 70_000 }, '/localEndpointPort'],
    [{ localEndpointPort: -1 }, '/localEndpointPort'],
    [{ healthReportIntervalSeconds: 5 }, '/healthReportIntervalSeconds'],
  ])('refuses %j at %s', async (extra, path) => {
    const r = await load(extra);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('CONFIG_INVALID');
      expect(r.error.issues.map((i) => i.path)).toContain(path);
    }
  });
});

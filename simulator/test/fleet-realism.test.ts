/** Realism mode: virtual devices over real mutual-TLS sockets to the local core's broker, taking a real job. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { silentLogger, type TestIdentity } from '@otafleet/iot-core/testing';
import { startVirtualFleet } from '../src/index.js';
import {
  eventually,
  HARDWARE,
  installDocument,
  isTerminal,
  startFleetStack,
  type FleetStack,
} from './fleet-harness.js';

let stack: FleetStack;
beforeAll(async () => {
  stack = await startFleetStack();
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('realism mode (mqtt-url)', () => {
  it('devices connect over mTLS with their own certificates and update', async () => {
    const things = ['tls-1', 'tls-2', 'tls-3'];
    await stack.addThings(things);
    const ids = new Map<string, TestIdentity>();
    for (const t of things) ids.set(t, await stack.testCore.issueDevice(t));
    const port = stack.testCore.endpoints.mqttTls;
    const fleet = await startVirtualFleet({
      devices: things.map((thingName) => ({ thingName, hardwareType: HARDWARE, startVersion: '1.0.0', faults: {} })),
      seed: 5,
      workers: 0,
      broker: {
        kind: 'mqtt-url',
        url: `mqtts://127.0.0.1:${port}`,
        ca: ids.get('tls-1')!.caPem,
        credentialsOf: (t) => ({ cert: ids.get(t)!.cert, key: ids.get(t)!.key }),
      },
      trustSetJson: stack.trustSetJson,
      dataDir: join(stack.dir, 'fleet-tls'),
      logger: silentLogger,
    });
    try {
      await eventually(async () => ((await fleet.observe()).every((o) => o.online) ? true : undefined), 'online');
      const v = await stack.bundle('1.1.0');
      await stack.createJob('tls-110', things, installDocument(v));
      for (const t of things) {
        expect((await stack.waitForExecution('tls-110', t, isTerminal, 60_000)).status).toBe('SUCCEEDED');
      }
      const obs = await eventually(async () => {
        const o = await fleet.observe();
        return o.every((d) => d.runningVersion === '1.1.0' && d.phase === 'idle') ? o : undefined;
      }, 'all on 1.1.0');
      expect(obs.map((o) => o.thingName)).toEqual(things);
    } finally {
      await fleet.close();
    }
  }, 120_000);

  it('refuses a URL that is not mqtts:// before any device starts', async () => {
    await expect(
      startVirtualFleet({
        devices: [{ thingName: 'tls-x', hardwareType: HARDWARE, startVersion: '1.0.0', faults: {} }],
        seed: 1,
        workers: 0,
        broker: { kind: 'mqtt-url', url: 'mqtt://127.0.0.1:1', ca: '', credentialsOf: () => ({ cert: '', key: '' }) },
        trustSetJson: stack.trustSetJson,
        dataDir: join(stack.dir, 'fleet-tls-bad'),
        logger: silentLogger,
      }),
    ).rejects.toThrow(/mqtts:\/\//);
  });
});

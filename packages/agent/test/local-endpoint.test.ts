/** The local health endpoint over real HTTP on 127.0.0.1: 200 only when connected on a committed release. */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startLocalEndpoint, type LocalEndpoint, type SlotStatus, type UpdateStatus } from '@otafleet/agent';
import { silent } from './e2e-device.js';

const endpoints: LocalEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

const release = { name: 'http-service', version: '1.1.0', securityVersion: 2 };

async function start(o: { connected?: boolean; committed?: boolean; running?: boolean; throws?: boolean } = {}) {
  const slots: SlotStatus = {
    activeSlot: 'B',
    running: o.running === false ? undefined : release,
    previous: undefined,
    slots: o.running === false ? {} : { B: release },
  };
  const update: UpdateStatus = { current: undefined, lastUpdate: undefined, rollbackCount: 2 };
  const endpoint = await startLocalEndpoint(
    {
      device: { thingName: 'pi-1', hardwareType: 'rpi4', agentVersion: '0.1.0' },
      status: {
        update: () => update,
        slots: () => {
          if (o.throws === true) throw new Error('boom');
          return slots;
        },
        broker: () => ({ connected: o.connected ?? true, shadowSynced: o.connected ?? true }),
      },
      committed: () => o.committed ?? true,
      startedAt: 1_000,
      now: () => 61_000,
      extra: () => ({ configuration: { version: 3, status: 'applied', appliedVersion: 3 } }),
    },
    { port: 0, logger: silent },
  );
  endpoints.push(endpoint);
  return endpoint;
}

async function call(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('local endpoint', () => {
  it('GET /health: 200 with what runs when connected on a committed release', async () => {
    const e = await start();
    const r = await call(e.port, '/health');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: 'ok',
      problems: [],
      running: release,
      activeSlot: 'B',
      committed: true,
      updateInProgress: null,
      lastUpdate: null,
      broker: { connected: true, shadowSynced: true },
      agentVersion: '0.1.0',
      uptimeSeconds: 60,
    });
  });

  it.each([
    [{ connected: false }, 'not connected to the broker'],
    [{ committed: false }, 'the running release is on trial (not committed)'],
    [{ running: false }, 'no release known in the active slot'],
  ])('GET /health: 503 when %j, saying why', async (o, problem) => {
    const e = await start(o);
    const r = await call(e.port, '/health');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'unavailable', problems: [problem] });
  });

  it('GET /status: the full snapshot', async () => {
    const e = await start();
    const r = await call(e.port, '/status');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      device: { thingName: 'pi-1' },
      update: { rollbackCount: 2 },
      slots: { activeSlot: 'B' },
      configuration: { version: 3 },
    });
  });

  it('answers other methods 405, other paths 404, and a failing snapshot 500, all in JSON', async () => {
    const e = await start();
    const post = await call(e.port, '/health', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.body.code).toBe('MethodNotAllowed');
    expect(await call(e.port, '/')).toMatchObject({ status: 404, body: { code: 'NotFound' } });
    const failing = await start({ throws: true });
    expect(await call(failing.port, '/status')).toMatchObject({ status: 500, body: { code: 'InternalError' } });
  });

  it('listens on loopback only', async () => {
    const e = await start();
    // The same port on another local address is not this server.
    const other = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.2', port: e.port, path: '/health', timeout: 2_000 }, (res) =>
        resolve(`answered ${res.statusCode}`),
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(other).toBe('ECONNREFUSED');
  });
});

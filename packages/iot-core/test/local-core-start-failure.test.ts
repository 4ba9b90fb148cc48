import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir } from '@otafleet/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, startLocalCore, type LocalCore } from '@otafleet/iot-core';
import { freePort, silentLogger } from '@otafleet/iot-core/testing';

/** startLocalCore failing part-way leaves nothing behind: ports free, database closed, data-dir lock released. */
const servers: Server[] = [];
const cores: LocalCore[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'core-start-fail-'));
  dirs.push(d);
  return d;
};

/** A real listener holding a port, as another program would. */
const occupy = async (): Promise<number> => {
  const s = createServer();
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
};

const canListen = async (port: number): Promise<boolean> => {
  const s = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise<void>((r) => s.close(() => r()));
  return ok;
};

const config = (dir: string, ports: { http: number; tls: number; tcp?: number }) =>
  loadConfig(
    [
      '--data-dir',
      dir,
      '--http-port',
      String(ports.http),
      '--mqtt-tls-port',
      String(ports.tls),
      ...(ports.tcp === undefined ? [] : ['--mqtt-tcp-port', String(ports.tcp)]),
    ],
    {},
  );

const addressInUse = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'EADDRINUSE';

describe('startLocalCore failing part-way', () => {
  it('the control-plane port taken: the MQTT listeners it opened are closed, the database closed, the lock released', async () => {
    const dir = tempDir();
    const [tls, tcp, http] = [await freePort(), await freePort(), await occupy()];
    const failed = await startLocalCore(config(dir, { http, tls, tcp }), silentLogger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(addressInUse(failed)).toBe(true);
    expect(await canListen(tls)).toBe(true);
    expect(await canListen(tcp)).toBe(true);
    // SQLite removes the WAL file when its last connection closes.
    expect(existsSync(join(dir, 'iot-core.sqlite'))).toBe(true);
    expect(existsSync(join(dir, 'iot-core.sqlite-wal'))).toBe(false);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    // The same data directory starts at once (same MQTT ports, a free HTTP port).
    const core = await startLocalCore(config(dir, { http: 0, tls, tcp }), silentLogger);
    cores.push(core);
    expect(core.mqttTlsPort).toBe(tls);
  });

  it('the MQTT port taken: the database closed, the lock released, nothing listening', async () => {
    const dir = tempDir();
    const [tls, http] = [await occupy(), await freePort()];
    const failed = await startLocalCore(config(dir, { http, tls }), silentLogger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(addressInUse(failed)).toBe(true);
    expect(await canListen(http)).toBe(true);
    expect(existsSync(join(dir, 'iot-core.sqlite-wal'))).toBe(false);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    const core = await startLocalCore(config(dir, { http, tls: 0 }), silentLogger);
    cores.push(core);
    expect(core.httpPort).toBe(http);
  });

  it('a data directory held by another core is refused before anything starts, and its lock is left alone', async () => {
    const dir = tempDir();
    const held = lockDataDir(dir, 'iot-core');
    try {
      const http = await freePort();
      const failed = await startLocalCore(config(dir, { http, tls: 0 }), silentLogger).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(DataDirLockedError);
      expect(existsSync(join(dir, 'iot-core.sqlite'))).toBe(false);
      expect(existsSync(join(dir, '.lock'))).toBe(true);
      expect(await canListen(http)).toBe(true);
    } finally {
      held.release();
    }
  });

  it('close() releases the lock: a second core on the directory starts after the first closed', async () => {
    const dir = tempDir();
    const first = await startLocalCore(config(dir, { http: 0, tls: 0 }), silentLogger);
    await expect(startLocalCore(config(dir, { http: 0, tls: 0 }), silentLogger)).rejects.toBeInstanceOf(
      DataDirLockedError,
    );
    await first.close();
    const second = await startLocalCore(config(dir, { http: 0, tls: 0 }), silentLogger);
    cores.push(second);
    expect(second.httpPort).toBeGreaterThan(0);
  });
});

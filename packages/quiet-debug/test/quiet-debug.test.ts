import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const shim = join(here, '..', 'index.cjs');
/** mqtt-packet as mqtt, the MQTT client package's dependency, loads it: where it resolves `debug`. */
const mqttMain = createRequire(join(here, '..', '..', 'mqtt-client', 'package.json')).resolve('mqtt');
const packetMain = createRequire(mqttMain).resolve('mqtt-packet');

interface Logger {
  (...args: unknown[]): void;
  readonly enabled: boolean;
  readonly namespace: string;
  extend(sub: string): Logger;
}

/** Parses one PINGREQ with mqtt-packet in a child process under `debug` set to DEBUG; its stderr. */
function parseWithDebug(debugEnv: string | undefined): string {
  const script = `
    const mqttPacket = require(${JSON.stringify(packetMain)});
    const parser = mqttPacket.parser();
    let parsed = 0;
    parser.on('packet', () => parsed++);
    parser.parse(Buffer.from([0xc0, 0x00]));
    if (parsed !== 1) throw new Error('no packet parsed');`;
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG_COLORS: 'no' };
  delete env['DEBUG'];
  if (debugEnv !== undefined) env['DEBUG'] = debugEnv;
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stderr;
}

describe('quiet-debug', () => {
  it('is the debug that mqtt-packet loads', () => {
    expect(createRequire(packetMain).resolve('debug')).toBe(shim);
  });

  it('gives a disabled namespace a logger that does nothing, and its children too', () => {
    const create = createRequire(import.meta.url)(shim) as ((ns: string) => Logger) & { enabled(ns: string): boolean };
    const logger = create('quiet-debug-test:off');
    expect(create.enabled('quiet-debug-test:off')).toBe(false);
    expect(logger.enabled).toBe(false);
    expect(logger.namespace).toBe('quiet-debug-test:off');
    expect(logger('ignored %s', 'argument')).toBeUndefined();
    expect(logger.extend('child').namespace).toBe('quiet-debug-test:off:child');
    expect(logger.extend('child').enabled).toBe(false);
  });

  it('logs nothing from the parser when DEBUG is not set', () => {
    expect(parseWithDebug(undefined)).toBe('');
  });

  it("keeps debug's own logger for a namespace DEBUG enables", () => {
    const stderr = parseWithDebug('mqtt-packet:parser');
    expect(stderr).toContain('mqtt-packet:parser');
    expect(stderr).toMatch(/parse/);
  });

  it('logs only the namespaces DEBUG names', () => {
    const stderr = parseWithDebug('mqtt-packet:generate');
    expect(stderr).toBe('');
  });
});

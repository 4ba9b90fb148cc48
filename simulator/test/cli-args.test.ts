/** The command line of `pnpm sim -- run` for a running stack: what it takes, and each mistake named. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN_FILE, parseCommand } from '../src/cli/args.js';

const RUNNING = ['--fleet-api', 'http://127.0.0.1:8080/', '--mqtt', 'mqtts://127.0.0.1:8883'];
const KEY = ['--signing-key', 'rehearsal.key.pem'];

describe('pnpm sim -- run ... --fleet-api', () => {
  it('takes the running stack and its defaults', () => {
    expect(parseCommand(['run', 'happy-path']).running).toBeUndefined();
    expect(parseCommand(['--', 'run', 'happy-path', ...RUNNING, ...KEY]).running).toEqual({
      fleetApi: 'http://127.0.0.1:8080',
      tokenFile: DEFAULT_TOKEN_FILE,
      mqttUrl: 'mqtts://127.0.0.1:8883',
      signingKeyFile: 'rehearsal.key.pem',
    });
    const all = parseCommand([
      'run',
      'bad-canary',
      ...RUNNING,
      ...KEY,
      ...['--token-file', 't', '--ca', 'ca.pem', '--iot', 'http://127.0.0.1:4566', '--region', 'eu-west-1'],
      ...['--key-id', 'rel-2026', '--namespace', 'nightly7'],
    ]);
    expect(all.running).toEqual({
      fleetApi: 'http://127.0.0.1:8080',
      tokenFile: 't',
      mqttUrl: 'mqtts://127.0.0.1:8883',
      caFile: 'ca.pem',
      iotEndpoint: 'http://127.0.0.1:4566',
      region: 'eu-west-1',
      signingKeyFile: 'rehearsal.key.pem',
      keyId: 'rel-2026',
      namespace: 'nightly7',
    });
  });

  it.each([
    [['--mqtt', 'mqtts://h:1', '--ca', 'x'], '--mqtt, --ca: only with --fleet-api (a running stack)'],
    [['--fleet-api', 'http://h:1', ...KEY], '--fleet-api needs --mqtt mqtts://host:port'],
    [['--fleet-api', 'http://h:1', '--mqtt', 'mqtt://h:1883', ...KEY], '--mqtt must be an mqtts:// URL'],
    [RUNNING, '--fleet-api needs --signing-key FILE'],
    [['--fleet-api', 'h:1', '--mqtt', 'mqtts://h:1', ...KEY], '--fleet-api must be an http:// or https:// URL'],
    [['--fleet-api', 'nonsense', '--mqtt', 'mqtts://h:1', ...KEY], '--fleet-api must be a URL, got nonsense'],
    [[...RUNNING, ...KEY, '--iot', 'ftp://h'], '--iot must be an http:// or https:// URL'],
    [[...RUNNING, ...KEY, '--namespace', 'Has-Dash'], '--namespace must be 1 to 12 of a-z and 0-9, got Has-Dash'],
    [[...RUNNING, ...KEY, '--namespace', 'abcdefghijklm'], '--namespace must be 1 to 12'],
    [[...RUNNING, ...KEY, '--enrol', 'sdk'], '--enrol: not with --fleet-api'],
  ])('refuses %j', (args, message) => {
    expect(() => parseCommand(['run', 'happy-path', ...args])).toThrow(message);
  });
});

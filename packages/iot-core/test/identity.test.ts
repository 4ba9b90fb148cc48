import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  isIssuedBy,
  issueDeviceCertificate,
  issueServerCertificate,
  issueServiceCertificate,
  loadCertificateAuthority,
  type CreatedCertificateAuthority,
} from '../src/identity/ca.js';
import { caKeyPath, initCaDirectory, issueDeviceToDirectory, openCaDirectory } from '../src/identity/ca-store.js';
import { IdentityError } from '../src/identity/identity-error.js';
import { PRIVILEGED_OU, principalFromSubject } from '../src/identity/principal.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../src/cli/ca-cli.ts');

const subjectOf = (pem: string): Record<string, string> =>
  Object.fromEntries(new X509Certificate(pem).subject.split('\n').map((line) => line.split('=') as [string, string]));

describe('local CA', () => {
  let ca: CreatedCertificateAuthority;
  let other: CreatedCertificateAuthority;
  beforeAll(async () => {
    ca = await createCertificateAuthority();
    other = await createCertificateAuthority(); // same subject name, different key
  });

  it('creates a self-signed EC P-256 CA certificate', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('issues a device certificate (CN = thing name) that verifies against the CA and not against another CA', async () => {
    const device = await issueDeviceCertificate(ca, 'thing-1');
    expect(subjectOf(device.certPem)).toEqual({ CN: 'thing-1' });
    expect(await isIssuedBy(device.certPem, ca.certPem)).toBe(true);
    expect(await isIssuedBy(device.certPem, other.certPem)).toBe(false);
    expect(new X509Certificate(device.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(new X509Certificate(device.certPem).verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
    expect(principalFromSubject(subjectOf(device.certPem))).toEqual({ kind: 'thing', thingName: 'thing-1' });
  });

  it('issues a privileged service certificate the broker recognises by its OU', async () => {
    const service = await issueServiceCertificate(ca, 'fleet');
    expect(subjectOf(service.certPem)).toEqual({ CN: 'svc.fleet', OU: PRIVILEGED_OU });
    expect(await isIssuedBy(service.certPem, ca.certPem)).toBe(true);
    expect(principalFromSubject(subjectOf(service.certPem))).toEqual({ kind: 'service', serviceName: 'fleet' });
  });

  it('issues a server certificate for localhost and 127.0.0.1', async () => {
    const server = new X509Certificate((await issueServerCertificate(ca)).certPem);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });

  it('a CA reloaded from its PEM files keeps issuing verifiable certificates', async () => {
    const reloaded = await loadCertificateAuthority(ca.certPem, ca.keyPem);
    const device = await issueDeviceCertificate(reloaded, 'thing-2');
    expect(await isIssuedBy(device.certPem, ca.certPem)).toBe(true);
  });

  it.each([
    ['bad/name', 'InvalidThingName'],
    ['', 'InvalidThingName'],
    ['a'.repeat(129), 'InvalidThingName'],
    ['with space', 'InvalidThingName'],
    ['dot.ted', 'InvalidThingName'],
  ])('refuses thing name %j with %s', async (name, code) => {
    await expect(issueDeviceCertificate(ca, name)).rejects.toMatchObject({ code });
  });

  it('refuses an invalid service name and an invalid server host', async () => {
    await expect(issueServiceCertificate(ca, 'a/b')).rejects.toMatchObject({ code: 'InvalidServiceName' });
    await expect(issueServerCertificate(ca, { hosts: ['bad host'] })).rejects.toMatchObject({ code: 'InvalidHost' });
  });

  it('principalFromSubject refuses subjects naming nothing we accept', () => {
    expect(principalFromSubject({})).toBeUndefined();
    expect(principalFromSubject({ CN: 'a/b' })).toBeUndefined();
    expect(principalFromSubject({ CN: ['a', 'b'] })).toBeUndefined();
    expect(principalFromSubject({ CN: 'fleet', OU: PRIVILEGED_OU })).toBeUndefined(); // service CN lacks svc.
    expect(principalFromSubject({ CN: 'svc.fleet' })).toBeUndefined(); // no OU: not a service, '.' not a thing
  });
});

describe('CA directory and CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otafleet-ca-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes keys 0600, refuses to overwrite the CA, fails clearly without a CA', async () => {
    const missing = join(dir, 'none');
    await expect(openCaDirectory(missing)).rejects.toBeInstanceOf(IdentityError);
    await expect(issueDeviceToDirectory(missing, 't1')).rejects.toMatchObject({ code: 'CaNotFound' });

    const caDir = join(dir, 'lib');
    await initCaDirectory(caDir);
    const keyBefore = await readFile(caKeyPath(caDir), 'utf8');
    await expect(initCaDirectory(caDir)).rejects.toMatchObject({ code: 'CaAlreadyExists' });
    expect(await readFile(caKeyPath(caDir), 'utf8')).toBe(keyBefore);
    const paths = await issueDeviceToDirectory(caDir, 't1');
    expect((await stat(paths.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(caKeyPath(caDir))).mode & 0o777).toBe(0o600);
    expect(await isIssuedBy(await readFile(paths.certPath, 'utf8'), await readFile(paths.caPath, 'utf8'))).toBe(true);
  });

  it('CLI: init, issue, and exit codes for refusals and usage errors', async () => {
    const caDir = join(dir, 'cli');
    const call = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const r = await run(
          process.execPath,
          ['--conditions=source', '--import', 'tsx', cli, '--dir', caDir, ...args],
          {
            timeout: 20_000,
          },
        );
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const f = e as { code: number; stdout: string; stderr: string };
        return { code: f.code, stdout: f.stdout, stderr: f.stderr };
      }
    };
    const init = await call('ca', 'init');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(join(caDir, 'ca.pem'));
    expect((await call('ca', 'init')).code).toBe(1);
    const device = await call('ca', 'issue-device', 'thing-7');
    expect(device.code).toBe(0);
    const certPem = await readFile(join(caDir, 'things', 'thing-7.pem'), 'utf8');
    expect(await isIssuedBy(certPem, await readFile(join(caDir, 'ca.pem'), 'utf8'))).toBe(true);
    const bad = await call('ca', 'issue-device', 'no/slash');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('InvalidThingName');
    expect((await call('ca', 'frobnicate')).code).toBe(2);
    expect((await call('ca', 'issue-device')).code).toBe(2);
    expect((await call('--bogus-flag')).code).toBe(2);

    expect((await call('ca', 'issue-server')).code).toBe(0);
    const conf = await call('mosquitto', 'config', '--out', join(caDir, 'mq'), '--port', '18883', '--service', 'fleet');
    expect(conf.code).toBe(0);
    const written = await readFile(join(caDir, 'mq', 'mosquitto.conf'), 'utf8');
    expect(written).toContain('listener 18883 127.0.0.1');
    expect(written).toContain(`cafile ${join(caDir, 'ca.pem')}`);
    expect(written).toContain(`crlfile ${join(caDir, 'crl.pem')}`);
    expect(await readFile(join(caDir, 'crl.pem'), 'utf8')).toContain('-----BEGIN X509 CRL-----');
    const dynsec = JSON.parse(await readFile(join(caDir, 'mq', 'dynamic-security.json'), 'utf8')) as {
      clients: { username: string }[];
    };
    // The core (svc.iot-core) is always there, to administer the plugin; thing-7 has a certificate under things/.
    expect(dynsec.clients.map((c) => c.username).sort()).toEqual(['svc.fleet', 'svc.iot-core', 'thing-7']);
    expect((await call('mosquitto', 'config', '--out', join(caDir, 'mq'), '--port', '99999')).code).toBe(2);
  }, 120_000); // eleven CLI processes: about 2 s each on an idle machine, far more on a loaded one
});

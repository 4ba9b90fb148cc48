#!/usr/bin/env node
import { existsSync, realpathSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isAwsServiceError } from '../aws-error.js';
import { openDatabase } from '../db.js';
import { isCertificateId } from '../identity/certificate-id.js';
import { createCertificateRegistry } from '../identity/certificate-registry.js';
import { writeCrl } from '../identity/crl.js';
import { writeMosquittoConfig } from '../mosquitto/mosquitto-config.js';
import {
  caCertPath,
  initCaDirectory,
  issueDeviceToDirectory,
  issueServerToDirectory,
  issueServiceToDirectory,
  openCaDirectory,
  serverCredentialPaths,
  thingCredentialPaths,
  type CredentialPaths,
} from '../identity/ca-store.js';
import { IdentityError } from '../identity/identity-error.js';
import { CORE_SERVICE_NAME, isValidThingName } from '../identity/principal.js';
import { findDynamicSecurityPlugin } from '../mosquitto/dynamic-security-plugin.js';

/** Exit codes: 0 done, 1 refused (CA missing or present, invalid name...), 2 usage error, 3 unexpected failure. */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 3;

const USAGE = `Usage: iot-core-ca <command> [options]

Commands:
  ca init [--force]                 create the local CA (EC P-256) in --dir
  ca issue-device <thingName>       issue a device certificate (CN = thing name)
  ca issue-service <name>           issue a privileged service certificate (CN svc.<name>)
  ca issue-server [--host H]...     issue the broker's server certificate (default localhost, 127.0.0.1, ::1)
  ca revoke <thingName|certificateId> [--status REVOKED|INACTIVE]
                                    stop a certificate authenticating (a running core disconnects its device);
                                    a thing name means the certificate in things/<thingName>.pem
  mosquitto config --out DIR [--port 8883] [--service NAME]... [--user U] [--dynsec-plugin PATH]
                                    write mosquitto.conf + dynamic-security.json using the CA and server
                                    certificate in --dir; svc.iot-core (the core) always administers it, and
                                    every thing with a certificate under things/ starts granted; writes
                                    <dir>/crl.pem from the core's database (Mosquitto's crlfile)

Options:
  --data-dir DIR  the core's data directory (env OTA_CORE_DATA_DIR, default .data/iot-core): its SQLite file
                  holds certificate statuses, and its pki/ is the CA directory
  --dir DIR       CA directory (default <data-dir>/pki, the local core's own CA)
  --help       show this help
`;

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const fail = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const printPaths = (what: string, paths: CredentialPaths): void => {
  out(`${what}`);
  out(`  certificate: ${paths.certPath}`);
  out(`  private key: ${paths.keyPath} (mode 0600)`);
  out(`  CA:          ${paths.caPath}`);
};

class UsageError extends Error {}

/** Sets the status in the core's database; a running core notices within a second and disconnects the device. */
async function revoke(dataDir: string, caDir: string, target: string, status: 'REVOKED' | 'INACTIVE'): Promise<void> {
  if (!isCertificateId(target) && !isValidThingName(target))
    throw new UsageError(`\`ca revoke\` takes a thing name or a 64-hex-digit certificate id: ${target}`);
  const db = openDatabase(join(dataDir, 'iot-core.sqlite'));
  const registry = createCertificateRegistry(db, { region: 'local', accountId: 'local' });
  try {
    let certificateId = target;
    if (!isCertificateId(target)) {
      const certPath = thingCredentialPaths(caDir, target).certPath;
      const pem = await readFile(certPath, 'utf8').catch(() => {
        throw new IdentityError('CertificateNotFound', `No certificate for thing "${target}" at ${certPath}.`);
      });
      certificateId = registry.register(pem).certificateId;
    }
    try {
      registry.updateCertificate({ certificateId, newStatus: status });
    } catch (e) {
      if (isAwsServiceError(e) && e.name === 'ResourceNotFoundException')
        throw new IdentityError('CertificateNotFound', e.message);
      if (isAwsServiceError(e) && e.name === 'CertificateStateException')
        throw new IdentityError('CertificateRevoked', e.message);
      throw e;
    }
    out(`Certificate ${certificateId} is now ${status}`);
    if (await hasCa(caDir))
      out(`Wrote ${await writeCrl(caDir, registry.notActive())} (Mosquitto: send it SIGHUP to reload)`);
  } finally {
    registry.close();
    db.close();
  }
}

const hasCa = (caDir: string): Promise<boolean> =>
  openCaDirectory(caDir).then(
    () => true,
    () => false,
  );

/** The CRL from the statuses in the core's database (an empty one when it has none yet). */
async function writeCrlFromDatabase(dataDir: string, caDir: string): Promise<string> {
  const dbPath = join(dataDir, 'iot-core.sqlite');
  if (!existsSync(dbPath)) return writeCrl(caDir, []); // no core has run on this data directory yet
  const db = openDatabase(dbPath);
  const registry = createCertificateRegistry(db, { region: 'local', accountId: 'local' });
  try {
    return await writeCrl(caDir, registry.notActive());
  } finally {
    registry.close();
    db.close();
  }
}

/** Thing names with a certificate under `<caDir>/things`. */
async function issuedThings(caDir: string): Promise<string[]> {
  const files = await readdir(join(caDir, 'things')).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith('.pem'))
    .map((f) => f.slice(0, -'.pem'.length))
    .filter(isValidThingName)
    .sort();
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : [...argv], // `pnpm ca -- ...` passes the `--` through
    allowPositionals: true,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      dir: { type: 'string' },
      status: { type: 'string', default: 'REVOKED' },
      force: { type: 'boolean', default: false },
      host: { type: 'string', multiple: true },
      out: { type: 'string' },
      port: { type: 'string', default: '8883' },
      service: { type: 'string', multiple: true },
      user: { type: 'string' },
      'dynsec-plugin': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    out(USAGE);
    return EXIT_OK;
  }
  const base = process.env['INIT_CWD'] ?? process.cwd();
  const dataDir = resolve(base, values['data-dir'] ?? process.env['OTA_CORE_DATA_DIR'] ?? '.data/iot-core');
  const dir = values.dir === undefined ? join(dataDir, 'pki') : resolve(base, values.dir);
  const [group, command, name, ...extra] = positionals;
  const needName = (): string => {
    if (name === undefined || extra.length > 0) throw new UsageError(`\`${group} ${command}\` takes exactly one name.`);
    return name;
  };
  switch (`${group ?? ''} ${command ?? ''}`) {
    case 'ca init':
      if (name !== undefined) throw new UsageError('`ca init` takes no arguments.');
      printPaths(`Created CA in ${dir}`, await initCaDirectory(dir, { force: values.force }));
      return EXIT_OK;
    case 'ca issue-device': {
      const thing = needName();
      printPaths(`Issued device certificate for thing "${thing}"`, await issueDeviceToDirectory(dir, thing));
      return EXIT_OK;
    }
    case 'ca issue-service': {
      const service = needName();
      printPaths(`Issued privileged service certificate "${service}"`, await issueServiceToDirectory(dir, service));
      return EXIT_OK;
    }
    case 'ca issue-server':
      if (name !== undefined) throw new UsageError('`ca issue-server` takes hosts with --host, not as arguments.');
      printPaths('Issued broker server certificate', await issueServerToDirectory(dir, values.host));
      return EXIT_OK;
    case 'ca revoke': {
      const target = needName();
      if (values.status !== 'REVOKED' && values.status !== 'INACTIVE')
        throw new UsageError(`--status must be REVOKED or INACTIVE: ${values.status}`);
      await revoke(dataDir, dir, target, values.status);
      return EXIT_OK;
    }
    case 'mosquitto config': {
      if (values.out === undefined) throw new UsageError('`mosquitto config` needs --out DIR.');
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`Invalid --port ${values.port}.`);
      await openCaDirectory(dir); // fails with CaNotFound and what to do
      const server = serverCredentialPaths(dir);
      const services = values.service ?? [];
      const crlfile = await writeCrlFromDatabase(dataDir, dir);
      const written = await writeMosquittoConfig(resolve(base, values.out), {
        port,
        cafile: caCertPath(dir),
        certfile: server.certPath,
        keyfile: server.keyPath,
        dynsecPlugin:
          values['dynsec-plugin'] === undefined ? findDynamicSecurityPlugin() : resolve(base, values['dynsec-plugin']),
        privilegedServices: services.includes(CORE_SERVICE_NAME) ? services : [CORE_SERVICE_NAME, ...services],
        adminService: CORE_SERVICE_NAME,
        things: await issuedThings(dir),
        crlfile,
        ...(values.user === undefined ? {} : { runAsUser: values.user }),
      });
      out(`Wrote ${written.configPath}`);
      out(`Wrote ${written.dynsecPath}`);
      out(`Wrote ${crlfile}`);
      out(`Run: mosquitto -c ${written.configPath}`);
      out('The server certificate must exist (`ca issue-server`), and mosquitto must be able to read its key.');
      return EXIT_OK;
    }
    default:
      throw new UsageError(
        positionals.length === 0 ? 'No command given.' : `Unknown command "${positionals.join(' ')}".`,
      );
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      fail(`error: ${e.message}\n`);
      fail(USAGE);
      return EXIT_USAGE;
    }
    if (e instanceof IdentityError) {
      fail(`error [${e.code}]: ${e.message}`);
      return EXIT_REFUSED;
    }
    fail(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILURE;
  }
}

const invokedDirectly = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));

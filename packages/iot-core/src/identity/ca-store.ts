import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  issueDeviceCertificate,
  issueServerCertificate,
  issueServiceCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
  type IssuedCredential,
} from './ca.js';
import { IdentityError } from './identity-error.js';

/**
 * The on-disk layout of the local CA directory:
 *   ca.pem, ca.key                      the CA
 *   things/<thing>.pem, .key            device credentials
 *   services/<name>.pem, .key           privileged service credentials
 *   server/server.pem, .key             the broker's TLS server credential
 * Keys are 0600 and directories 0700.
 */
export interface CredentialPaths {
  readonly certPath: string;
  readonly keyPath: string;
  /** The CA certificate a peer needs to verify this credential's counterpart. */
  readonly caPath: string;
}

export const caCertPath = (dir: string): string => join(dir, 'ca.pem');
export const caKeyPath = (dir: string): string => join(dir, 'ca.key');
export const thingCredentialPaths = (dir: string, thingName: string): CredentialPaths => leaf(dir, 'things', thingName);
export const serviceCredentialPaths = (dir: string, serviceName: string): CredentialPaths =>
  leaf(dir, 'services', serviceName);
export const serverCredentialPaths = (dir: string): CredentialPaths => leaf(dir, 'server', 'server');

const leaf = (dir: string, kind: string, name: string): CredentialPaths => ({
  certPath: join(dir, kind, `${name}.pem`),
  keyPath: join(dir, kind, `${name}.key`),
  caPath: caCertPath(dir),
});

const exists = async (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Writes atomically (temp file + rename) with `mode`, whatever the umask. */
async function writePrivate(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode, flag: 'wx' });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

async function writeCredential(paths: CredentialPaths, credential: IssuedCredential): Promise<void> {
  await ensureDir(join(paths.certPath, '..'));
  await writePrivate(paths.keyPath, credential.keyPem, 0o600);
  await writePrivate(paths.certPath, credential.certPem, 0o644);
}

/** Creates the CA in `dir`. Refuses to replace an existing CA unless `force` (which orphans every issued certificate). */
export async function initCaDirectory(
  dir: string,
  options: { readonly force?: boolean; readonly commonName?: string } = {},
): Promise<CredentialPaths> {
  if (!options.force && (await exists(caKeyPath(dir))))
    throw new IdentityError(
      'CaAlreadyExists',
      `A CA already exists in ${dir}. Use it, or pass --force to replace it (certificates it issued stop working).`,
    );
  await ensureDir(dir);
  const ca = await createCertificateAuthority(
    options.commonName === undefined ? {} : { commonName: options.commonName },
  );
  const paths = { certPath: caCertPath(dir), keyPath: caKeyPath(dir), caPath: caCertPath(dir) };
  await writeCredential(paths, ca);
  return paths;
}

export async function openCaDirectory(dir: string): Promise<CertificateAuthority> {
  if (!(await exists(caKeyPath(dir))) || !(await exists(caCertPath(dir))))
    throw new IdentityError('CaNotFound', `No CA in ${dir}. Create one first with \`ca init --dir ${dir}\`.`);
  const [certPem, keyPem] = await Promise.all([readFile(caCertPath(dir), 'utf8'), readFile(caKeyPath(dir), 'utf8')]);
  return loadCertificateAuthority(certPem, keyPem);
}

export async function issueDeviceToDirectory(dir: string, thingName: string): Promise<CredentialPaths> {
  const ca = await openCaDirectory(dir);
  const credential = await issueDeviceCertificate(ca, thingName);
  const paths = thingCredentialPaths(dir, thingName);
  await writeCredential(paths, credential);
  return paths;
}

export async function issueServiceToDirectory(dir: string, serviceName: string): Promise<CredentialPaths> {
  const ca = await openCaDirectory(dir);
  const credential = await issueServiceCertificate(ca, serviceName);
  const paths = serviceCredentialPaths(dir, serviceName);
  await writeCredential(paths, credential);
  return paths;
}

export async function issueServerToDirectory(dir: string, hosts?: readonly string[]): Promise<CredentialPaths> {
  const ca = await openCaDirectory(dir);
  const credential = await issueServerCertificate(ca, hosts === undefined ? {} : { hosts });
  const paths = serverCredentialPaths(dir);
  await writeCredential(paths, credential);
  return paths;
}

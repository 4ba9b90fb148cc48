import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initCaDirectory,
  issueDeviceToDirectory,
  issueServerToDirectory,
  issueServiceToDirectory,
  type CredentialPaths,
} from '../identity/ca-store.js';

export interface Credential {
  readonly cert: string;
  readonly key: string;
  readonly paths: CredentialPaths;
}

/** A real local CA in a temp dir, with server, device, service and foreign-CA credentials (files and PEM). */
export interface TestPki {
  readonly dir: string;
  readonly caPem: string;
  readonly server: Credential;
  readonly service: Credential;
  /** Service name of `service` (its CN is `svc.<name>`). */
  readonly serviceName: string;
  device(thingName: string): Credential;
  /** A device certificate for `thingA`, issued by another CA with the very same subject name as ours. */
  readonly foreignDevice: Credential;
  cleanup(): Promise<void>;
}

const load = async (paths: CredentialPaths): Promise<Credential> => ({
  cert: await readFile(paths.certPath, 'utf8'),
  key: await readFile(paths.keyPath, 'utf8'),
  paths,
});

export async function createTestPki(things: readonly string[], serviceName = 'fleet'): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'otafleet-pki-'));
  try {
    await initCaDirectory(dir);
    const server = await load(await issueServerToDirectory(dir));
    const service = await load(await issueServiceToDirectory(dir, serviceName));
    const devices = new Map<string, Credential>();
    for (const thing of things) devices.set(thing, await load(await issueDeviceToDirectory(dir, thing)));
    const foreignDir = join(dir, 'foreign');
    await initCaDirectory(foreignDir);
    const foreignDevice = await load(await issueDeviceToDirectory(foreignDir, things[0] ?? 'thing-a'));
    return {
      dir,
      caPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
      server,
      service,
      serviceName,
      device(thingName) {
        const credential = devices.get(thingName);
        if (credential === undefined) throw new Error(`test PKI has no device ${thingName}`);
        return credential;
      },
      foreignDevice,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

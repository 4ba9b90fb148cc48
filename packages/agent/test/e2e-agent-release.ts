/**
 * Agent releases for the self-update tests: signed `otaagent` bundles (app-dir, one tar payload) whose tree is what
 * an agent slot holds (bin/otaagent.js, started by the launcher), and the launcher as a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBundle, deriveTestPrivateKey, packDirectory, type BundleSigner } from '@otafleet/bundle';
import { TEST_KEY_PASSPHRASE } from '../../../firmware-bundles/build.js';
import { eventually } from './e2e-helpers.js';

const LAUNCHER = fileURLToPath(new URL('../bin/otaagent-launcher.js', import.meta.url));
const REAL_AGENT = pathToFileURL(fileURLToPath(new URL('../bin/otaagent.js', import.meta.url))).href;

/**
 * `real`: the agent of this checkout (its bin/otaagent.js, which runs dist or the sources); `crash`: exits 1 at
 * start, before any connection (a release that cannot even load).
 */
export type AgentReleaseBehavior = 'real' | 'crash';

/** Writes an agent release tree: what the launcher starts is its bin/otaagent.js. */
export async function writeAgentRelease(dir: string, version: string, behavior: AgentReleaseBehavior): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'otaagent', version, type: 'module' }));
  const body =
    behavior === 'real'
      ? `await import(${JSON.stringify(REAL_AGENT)});\n`
      : `process.stderr.write('otaagent ${version}: cannot start\\n');\nprocess.exit(1);\n`;
  await writeFile(join(dir, 'bin', 'otaagent.js'), `// otaagent ${version} (test release, ${behavior})\n${body}`);
}

/** A signed bundle of an agent release, as the fleet service would serve it. */
export async function buildAgentBundle(
  dir: string,
  o: { readonly version: string; readonly securityVersion: number; readonly behavior: AgentReleaseBehavior },
): Promise<{ path: string; version: string; securityVersion: number; sha256: string; size: number }> {
  const signer: BundleSigner = {
    keyId: 'otafleet-test-ed25519',
    algorithm: 'ed25519',
    privateKey: deriveTestPrivateKey('ed25519', TEST_KEY_PASSPHRASE),
  };
  const work = await mkdtemp(join(dir, `agent-${o.version}-`));
  const tree = join(work, 'tree');
  await writeAgentRelease(tree, o.version, o.behavior);
  const tar = join(work, 'agent.tar');
  const { entries } = await packDirectory(tree, tar, { mtime: new Date('2026-01-01T00:00:00Z') });
  const out = join(work, 'agent.otab');
  await buildBundle(
    {
      name: 'otaagent',
      version: o.version,
      securityVersion: o.securityVersion,
      compatibleHardware: ['generic-linux'],
      installType: 'app-dir',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2036-01-01T00:00:00Z',
      minAgentVersion: '0.1.0',
      keyId: signer.keyId,
      signatureAlgorithm: signer.algorithm,
      payloads: [{ name: 'agent.tar', kind: 'tar', path: tar, entries }],
    },
    signer,
    out,
  );
  const bytes = await readFile(out);
  return {
    path: out,
    version: o.version,
    securityVersion: o.securityVersion,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.byteLength,
  };
}

/** An install job document for an agent release; the new agent must connect (and pass `mqtt`) in time. */
export function agentInstallDocument(
  bundle: {
    readonly version: string;
    readonly securityVersion: number;
    readonly url: string;
    readonly size: number;
    readonly sha256: string;
  },
  o: {
    readonly deadlineSeconds: number;
    readonly maxBootAttempts: number;
    /** Checks besides `mqtt`, e.g. one the new agent fails although it connects. */
    readonly extraChecks?: readonly unknown[];
  },
): unknown {
  return {
    operation: 'ota.install',
    schemaVersion: 2,
    component: 'agent',
    bundle: { name: 'otaagent', version: bundle.version, securityVersion: bundle.securityVersion },
    download: { url: bundle.url, size: bundle.size, sha256: bundle.sha256 },
    install: { mode: 'immediate' },
    healthChecks: {
      deadlineSeconds: o.deadlineSeconds,
      requiredPasses: 2,
      intervalSeconds: 1,
      checks: [{ kind: 'mqtt' }, ...(o.extraChecks ?? [])],
    },
    rollback: { mode: 'automatic', maxBootAttempts: o.maxBootAttempts },
  };
}

export interface LauncherProcess {
  readonly child: ChildProcess;
  /** Every line the launcher and its agents wrote, parsed when JSON. */
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  output(): string;
  /** Rethrows `e` with the tail of the launcher's and its agents' output, which says why. */
  readonly failWith: (e: unknown) => never;
  /** Resolves once an agent of `version` logged "agent started" after line `after`; rejects via failWith. */
  readonly agentStarted: (version: string, after: number) => Promise<true>;
}

/** The launcher in its own process group (killed as a group at the end, as systemd's cgroup would be). */
export function startLauncher(root: string, args: readonly string[]): LauncherProcess {
  const child = spawn(process.execPath, [LAUNCHER, '--root', root, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_FORMAT: 'json' },
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  let text = '';
  let partial = '';
  const onData = (chunk: string): void => {
    text += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        lines.push({ raw: l });
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      resolve(code);
    }),
  );
  const failWith = (e: unknown): never => {
    throw new Error(`${String(e)}\nlauncher and agent output (tail):\n${text.slice(-4000)}`);
  };
  const agentStarted = (version: string, after: number): Promise<true> =>
    eventually(
      () =>
        lines.slice(after).some((l) => l['msg'] === 'agent started' && l['agentVersion'] === version)
          ? (true as const)
          : undefined,
      `agent ${version} to start`,
      90_000,
    ).catch(failWith);
  return { child, lines, exited, output: () => text, failWith, agentStarted };
}

#!/usr/bin/env node
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  encodeBundleManifest,
  type BundleInstallType,
  type BundlePayloadKind,
  type BundleSignatureAlgorithm,
} from '@otafleet/protocol';
import { buildBundle, signBundleFile, type BundlePayloadSource } from './build.js';
import { asBundleError, BundleError } from './errors.js';
import { extractVerifiedBundle } from './extract.js';
import { decodeUntrustedManifest, readBundleHead } from './head.js';
import { generateBundleKeyPair, importPrivateKey, keyAlgorithm } from './keys.js';
import { ChunkReader } from './reader.js';
import { packDirectory } from './tar-pack.js';
import { loadTrustStore } from './trust.js';
import { openBundleFile, verifyBundleFile } from './verify.js';

/** Exit codes: 0 success; 1 the bundle (or key, trust set) was refused, code printed; 2 bad usage. */
const EXIT_REJECTED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

const USAGE = `usage: otabundle <command> [options]
  keygen  --algorithm ed25519|ecdsa-p256-sha256 --key-id ID --out-dir DIR
  build   --name N --version SEMVER --security-version N --hardware H[,H...] --install-type app-dir|rootfs-image|script
          (--app-dir DIR | --payload NAME:KIND:PATH ...) --key-id ID --algorithm ALG --out FILE
          [--key PRIVATE.pem] [--manifest-out FILE] [--min-agent-version SEMVER] [--created-at ISO]
          [--expires-at ISO | --expires-in-days N] [--description TEXT]
          (without --key the bundle is unsigned: sign the --manifest-out bytes elsewhere, then 'sign --signature')
  sign    BUNDLE --out FILE (--key PRIVATE.pem | --signature SIG.der)
  verify  BUNDLE --trust TRUST.json [--hardware H] [--installed-version V --installed-security-version N]
          [--agent-version V] [--now ISO] [--allow-downgrade] [--extract DIR] [--json]
  inspect BUNDLE [--json]     (prints the manifest WITHOUT checking the signature)
exit codes: 0 ok, 1 refused (the BUNDLE_* code is printed), 2 usage error`;

type Values = Record<string, string | boolean | string[] | undefined>;

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}
function need(v: Values, name: string): string {
  const x = str(v, name);
  if (x === undefined) throw new UsageError(`--${name} is required`);
  return x;
}
function algorithmOf(name: string): BundleSignatureAlgorithm {
  if (name === 'ed25519') return 'ed25519';
  if (name === 'ecdsa-p256-sha256' || name === 'ecdsa-p256') return 'ecdsa-p256-sha256';
  throw new UsageError(`unknown algorithm ${name} (ed25519 or ecdsa-p256-sha256)`);
}
function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a non-negative integer`);
  return Number(text);
}
function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function keygen(v: Values): Promise<void> {
  const algorithm = algorithmOf(need(v, 'algorithm'));
  const keyId = need(v, 'key-id');
  const dir = need(v, 'out-dir');
  const pair = generateBundleKeyPair(algorithm);
  const privatePath = join(dir, `${keyId}.key.pem`);
  const publicPath = join(dir, `${keyId}.pub.pem`);
  await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(publicPath, pair.publicKeyPem, { flag: 'wx' });
  out(`private key: ${privatePath}`);
  out(`public key:  ${publicPath}`);
  out('trust set entry:');
  out(JSON.stringify({ id: keyId, algorithm, publicKey: pair.publicKeyPem, status: 'active' }));
}

function parsePayload(spec: string): BundlePayloadSource {
  const m = /^([^:]+):(tar|image|script):(.+)$/.exec(spec);
  if (m === null) throw new UsageError(`--payload ${spec}: expected NAME:tar|image|script:PATH`);
  return { name: m[1] ?? '', kind: (m[2] ?? 'image') as BundlePayloadKind, path: m[3] ?? '' };
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function build(v: Values): Promise<void> {
  const algorithm = algorithmOf(need(v, 'algorithm'));
  const keyId = need(v, 'key-id');
  const outPath = need(v, 'out');
  const epoch = process.env['SOURCE_DATE_EPOCH'];
  const createdAt =
    str(v, 'created-at') ?? timestamp(epoch === undefined ? new Date() : new Date(Number(epoch) * 1000));
  const created = Date.parse(createdAt);
  if (Number.isNaN(created)) throw new UsageError('--created-at must be an ISO timestamp');
  const expiresAt =
    str(v, 'expires-at') ??
    timestamp(new Date(created + integer('expires-in-days', str(v, 'expires-in-days') ?? '365') * 86_400_000));
  const keyPath = str(v, 'key');
  const privateKey = keyPath === undefined ? null : importPrivateKey(await readFile(keyPath), algorithm);
  const appDir = str(v, 'app-dir');
  const payloadSpecs = (v['payload'] as string[] | undefined) ?? [];
  if ((appDir === undefined) === (payloadSpecs.length === 0))
    throw new UsageError('give --app-dir or --payload (not both)');
  const scratch = await mkdtemp(join(tmpdir(), 'otabundle-build-'));
  try {
    let payloads: BundlePayloadSource[];
    if (appDir !== undefined) {
      const tarPath = join(scratch, 'app.tar');
      const { entries } = await packDirectory(appDir, tarPath, { mtime: new Date(created) });
      payloads = [{ name: 'app.tar', kind: 'tar', path: tarPath, entries }];
    } else {
      payloads = payloadSpecs.map(parsePayload);
    }
    const description = str(v, 'description');
    const built = await buildBundle(
      {
        name: need(v, 'name'),
        version: need(v, 'version'),
        securityVersion: integer('security-version', need(v, 'security-version')),
        compatibleHardware: need(v, 'hardware')
          .split(',')
          .filter((h) => h !== ''),
        installType: need(v, 'install-type') as BundleInstallType,
        createdAt,
        expiresAt,
        minAgentVersion: str(v, 'min-agent-version') ?? '0.0.0',
        keyId,
        signatureAlgorithm: algorithm,
        ...(description === undefined ? {} : { description }),
        payloads,
      },
      privateKey === null ? null : { keyId, algorithm, privateKey },
      outPath,
    );
    const manifestOut = str(v, 'manifest-out');
    if (manifestOut !== undefined) await writeFile(manifestOut, built.manifestBytes);
    out(`${built.signed ? 'signed' : 'UNSIGNED'} bundle ${outPath} (${built.size} bytes)`);
    out(
      `${built.manifest.name} ${built.manifest.version} securityVersion=${built.manifest.securityVersion} key=${keyId} (${algorithm})`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function sign(v: Values, file: string): Promise<void> {
  const outPath = need(v, 'out');
  const keyPath = str(v, 'key');
  const sigPath = str(v, 'signature');
  if ((keyPath === undefined) === (sigPath === undefined)) throw new UsageError('give --key or --signature (not both)');
  const head = await readHead(file);
  const manifest = decodeUntrustedManifest(head);
  let by;
  if (keyPath !== undefined) {
    const privateKey = importPrivateKey(await readFile(keyPath));
    const algorithm = keyAlgorithm(privateKey);
    if (algorithm !== manifest.signatureAlgorithm) {
      throw new BundleError(
        'BUNDLE_KEY_ALGORITHM_MISMATCH',
        `manifest wants ${manifest.signatureAlgorithm}, key is ${String(algorithm)}`,
      );
    }
    by = { keyId: manifest.keyId, algorithm, privateKey };
  } else {
    by = { keyId: manifest.keyId, algorithm: manifest.signatureAlgorithm, signature: await readFile(sigPath ?? '') };
  }
  await signBundleFile(file, outPath, by);
  out(`signed ${outPath} with key ${manifest.keyId} (${manifest.signatureAlgorithm})`);
}

async function readHead(file: string): Promise<Awaited<ReturnType<typeof readBundleHead>>> {
  const reader = new ChunkReader(openBundleFile(file));
  try {
    return await readBundleHead(reader);
  } catch (e) {
    throw asBundleError(e);
  } finally {
    await reader.close();
  }
}

async function verify(v: Values, file: string): Promise<void> {
  const trust = await loadTrustStore(need(v, 'trust'));
  const installedVersion = str(v, 'installed-version');
  const installedSv = str(v, 'installed-security-version');
  if ((installedVersion === undefined) !== (installedSv === undefined)) {
    throw new UsageError('--installed-version and --installed-security-version go together');
  }
  const hardware = str(v, 'hardware');
  const agentVersion = str(v, 'agent-version');
  const nowText = str(v, 'now');
  const now = nowText === undefined ? new Date() : new Date(nowText);
  if (Number.isNaN(now.getTime())) throw new UsageError('--now must be an ISO timestamp');
  const extractTo = str(v, 'extract');
  const scratch = extractTo === undefined ? undefined : await mkdtemp(join(tmpdir(), 'otabundle-verify-'));
  try {
    const bundle = await verifyBundleFile(file, {
      trust,
      now,
      ...(scratch === undefined ? {} : { workDir: scratch }),
      policy: {
        ...(hardware === undefined ? {} : { hardware }),
        ...(agentVersion === undefined ? {} : { agentVersion }),
        ...(installedVersion === undefined || installedSv === undefined
          ? {}
          : {
              installed: {
                version: installedVersion,
                securityVersion: integer('installed-security-version', installedSv),
              },
            }),
        ...(v['allow-downgrade'] === true ? { allowDowngrade: true } : {}),
      },
    });
    const extracted = extractTo === undefined ? null : await extractVerifiedBundle(bundle, extractTo);
    const m = bundle.manifest;
    if (v['json'] === true) {
      out(
        JSON.stringify({
          ok: true,
          manifest: m,
          manifestSha256: bundle.manifestSha256,
          keyId: bundle.keyId,
          extracted,
        }),
      );
    } else {
      out(`OK ${m.name} ${m.version} securityVersion=${m.securityVersion} installType=${m.installType}`);
      out(
        `signed by ${bundle.keyId} (${bundle.algorithm}); expires ${m.expiresAt}; manifest sha256 ${bundle.manifestSha256}`,
      );
      for (const p of m.payloads) out(`payload ${p.name} (${p.kind}) ${p.size} bytes sha256 ${p.sha256} verified`);
      if (extracted !== null) out(`extracted ${extracted.entries} entries into ${extracted.targetDir}`);
    }
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

async function inspect(v: Values, file: string): Promise<void> {
  const head = await readHead(file);
  const manifest = decodeUntrustedManifest(head);
  const sig = head.signature;
  if (v['json'] === true) {
    out(
      JSON.stringify({
        verified: false,
        manifest,
        signature:
          sig === null ? null : { keyId: sig.keyId, algorithm: sig.algorithm, bytes: sig.signature.byteLength },
      }),
    );
    return;
  }
  out('NOT VERIFIED (inspect does not check the signature; use verify)');
  out(
    sig === null
      ? 'signature: none (unsigned)'
      : `signature: ${sig.algorithm} by ${sig.keyId}, ${sig.signature.byteLength} bytes`,
  );
  out(`manifest (${encodeBundleManifest(manifest).byteLength} bytes):`);
  out(JSON.stringify(manifest, null, 2));
}

const OPTIONS = {
  algorithm: { type: 'string' },
  'key-id': { type: 'string' },
  'out-dir': { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  'security-version': { type: 'string' },
  hardware: { type: 'string' },
  'install-type': { type: 'string' },
  'app-dir': { type: 'string' },
  payload: { type: 'string', multiple: true },
  out: { type: 'string' },
  key: { type: 'string' },
  'manifest-out': { type: 'string' },
  'min-agent-version': { type: 'string' },
  'created-at': { type: 'string' },
  'expires-at': { type: 'string' },
  'expires-in-days': { type: 'string' },
  description: { type: 'string' },
  signature: { type: 'string' },
  trust: { type: 'string' },
  'installed-version': { type: 'string' },
  'installed-security-version': { type: 'string' },
  'agent-version': { type: 'string' },
  now: { type: 'string' },
  'allow-downgrade': { type: 'boolean' },
  extract: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv], // `pnpm cli -- ...` passes the `--` through
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, file, ...extra] = positionals;
    if (values.help === true || command === undefined) {
      out(USAGE);
      return command === undefined && values.help !== true ? EXIT_USAGE : 0;
    }
    const needsFile = command === 'sign' || command === 'verify' || command === 'inspect';
    if (extra.length > 0 || (needsFile && file === undefined) || (!needsFile && file !== undefined)) {
      throw new UsageError(`wrong arguments for ${command}`);
    }
    switch (command) {
      case 'keygen':
        await keygen(values);
        break;
      case 'build':
        await build(values);
        break;
      case 'sign':
        await sign(values, file ?? '');
        break;
      case 'verify':
        await verify(values, file ?? '');
        break;
      case 'inspect':
        await inspect(values, file ?? '');
        break;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
    return 0;
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`usage error: ${e.message}\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    const be = asBundleError(e);
    process.stderr.write(`error ${be.code}: ${be.message}\n`);
    return EXIT_REJECTED;
  }
}

// Under `pnpm --filter @otafleet/bundle cli`, the script runs in the package folder: resolve the user's
// relative paths against where they ran the command.
if (process.env['INIT_CWD'] !== undefined) process.chdir(process.env['INIT_CWD']);
// `otabundle inspect B | head`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));

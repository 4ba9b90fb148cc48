/**
 * OTA download throughput of a 1 GiB signed bundle against plain download-to-disk, same run, same server.
 * Prints one JSON line.
 *
 * - Server: node:http in this process, serving the bundle from the page cache with Range (fs read stream).
 * - plain: a child doing node:http GET piped into fs.createWriteStream; timed to the stream's close
 *   (bytes in the page cache) and to the fsync after it (bytes on disk).
 * - ota: a child running `downloadAndVerifyBundle` (durable offsets: fdatasync + save every 8 MiB, whole-file
 *   SHA-256, signature, manifest, policy and payload SHA-256 in the same pass), payloads verified in-stream.
 * - ota+workDir: the same, also writing the verified payload into a work dir (a second 1 GiB on disk).
 * Phases alternate, ROUNDS rounds, medians reported; `sync` between phases so no phase pays for another's
 * dirty pages. Peak RSS is the ota child's own, for the 1 GiB bundle and for a 64 MiB one (flat = equal).
 * The children run the compiled package with plain node, as on a device (tsx's loader alone adds ~40 MB).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, deriveTestPrivateKey, publicKeyPemOf } from '@otafleet/bundle';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZE = Number(process.env.BENCH_BUNDLE_BYTES ?? GiB);
const SMALL = 64 * MiB;

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const signer = { keyId: 'bench', algorithm: 'ed25519' as const, privateKey: deriveTestPrivateKey('ed25519', 'bench') };

/** A signed rootfs-image bundle with one payload of `size` bytes, built by the bundle library from a file on disk. */
async function writeBenchBundle(dir: string, name: string, size: number): Promise<{ path: string; sha256: string }> {
  const payloadPath = join(dir, `${name}.img`);
  const block = Buffer.alloc(MiB);
  const seed = createHash('sha512').update(name).digest();
  for (let o = 0; o < MiB; o += seed.length) seed.copy(block, o);
  const fh = await open(payloadPath, 'w');
  for (let i = 0; i < size / MiB; i++) {
    block.writeUInt32BE(i, 0);
    await fh.write(block);
  }
  await fh.close();
  const path = join(dir, `${name}.otab`);
  await buildBundle(
    {
      name: 'bench',
      version: '2.0.0',
      securityVersion: 1,
      compatibleHardware: ['bench-hw'],
      installType: 'rootfs-image',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2099-01-01T00:00:00Z',
      minAgentVersion: '0.0.0',
      keyId: signer.keyId,
      signatureAlgorithm: signer.algorithm,
      payloads: [{ name: 'rootfs.img', kind: 'image', path: payloadPath }],
    },
    signer,
    path,
  );
  await rm(payloadPath);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB }) as AsyncIterable<Buffer>) hash.update(chunk);
  return { path, sha256: hash.digest('hex') };
}

/** Serves files by name with `Range: bytes=N-`, as a bundle store does. */
function startServer(files: ReadonlyMap<string, string>): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = files.get(req.url ?? '');
    if (path === undefined) return void res.writeHead(404).end();
    void stat(path).then(({ size }) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m === null ? 0 : Number(m[1]);
      const headers = { 'content-length': size - start, 'accept-ranges': 'bytes' };
      if (m === null) res.writeHead(200, headers);
      else res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${size - 1}/${size}` });
      createReadStream(path, { start, highWaterMark: MiB }).pipe(res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

const PLAIN_CHILD = `
import { request } from 'node:http';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
const [url, out] = process.argv.slice(1);
const t0 = process.hrtime.bigint();
const res = await new Promise((resolve, reject) => request(url, { agent: false }, resolve).on('error', reject).end());
await pipeline(res, createWriteStream(out));
const t1 = process.hrtime.bigint();
const fh = await open(out, 'r+');
await fh.sync();
await fh.close();
const t2 = process.hrtime.bigint();
const ru = process.resourceUsage();
console.log(JSON.stringify({ seconds: Number(t1 - t0) / 1e9, durableSeconds: Number(t2 - t0) / 1e9, maxRssMB: ru.maxRSS / 1024, cpu: (ru.userCPUTime + ru.systemCPUTime) / 1e6 }));
`;

const OTA_CHILD = `
import { createFileProgressStore, downloadAndVerifyBundle } from '@otafleet/agent';
import { loadTrustStore } from '@otafleet/bundle';
import { pino } from 'pino';
const job = JSON.parse(process.argv[1]);
const trust = await loadTrustStore(job.trustPath);
const t0 = process.hrtime.bigint();
const { bundle } = await downloadAndVerifyBundle({
  url: job.url,
  expectedSize: job.size,
  expectedSha256: job.sha256,
  partialPath: job.out,
  progressStore: createFileProgressStore(job.out + '.offset'),
  trust,
  policy: { hardware: 'bench-hw' },
  ...(job.workDir ? { workDir: job.workDir } : {}),
  ...(job.syncEveryBytes ? { syncEveryBytes: job.syncEveryBytes } : {}),
  logger: pino({ level: 'silent' }),
});
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
if (bundle.payloads.length !== 1) throw new Error('expected one verified payload');
const ru = process.resourceUsage();
console.log(JSON.stringify({ seconds, maxRssMB: ru.maxRSS / 1024, cpu: (ru.userCPUTime + ru.systemCPUTime) / 1e6 }));
`;

interface ChildReport {
  readonly seconds: number;
  readonly durableSeconds?: number;
  readonly maxRssMB: number;
  /** CPU seconds (user + system) of the child. */
  readonly cpu?: number;
}

/** The node flags the systemd unit runs the agent with (read from the unit, so they are written once). */
const UNIT_NODE_FLAGS = (
  /^ExecStart=\S*node((?: --\S+)*) /m.exec(
    readFileSync(fileURLToPath(new URL('../systemd/otaagent.service', import.meta.url)), 'utf8'),
  )?.[1] ?? ''
)
  .split(' ')
  .filter((f) => f.length > 0);

async function runChild(
  script: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<ChildReport> {
  // From the package directory, '@otafleet/agent' self-resolves to its built dist/.
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--input-type=module',
      '-e',
      script,
      ...args,
    ],
    {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`bench child failed (exit ${code})`);
  // The report is the last line (node flags such as --trace-gc print to stdout too: passed on to stderr).
  const lines = out.trim().split('\n');
  const report = lines.pop() ?? '';
  if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
  return JSON.parse(report) as ChildReport;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

// tsc -b emits even when another file of the project has a type error; only a missing dist is fatal.
spawnSync(process.execPath, [join(packageDir, '../../node_modules/typescript/bin/tsc'), '-b', packageDir], {
  stdio: 'inherit',
});
if (!existsSync(join(packageDir, 'dist', 'index.js'))) throw new Error('build of @otafleet/agent failed: no dist/');

const loadAvgAtStart = Number((loadavg()[0] ?? 0).toFixed(2));
const dir = await mkdtemp(join(tmpdir(), 'ota-download-bench-'));
try {
  const trustPath = join(dir, 'trust.json');
  await writeFile(
    trustPath,
    JSON.stringify({
      keys: [{ id: 'bench', algorithm: 'ed25519', publicKey: publicKeyPemOf(signer.privateKey), status: 'active' }],
    }),
  );
  const big = await writeBenchBundle(dir, 'big', SIZE);
  const small = await writeBenchBundle(dir, 'small', SMALL);
  const bigSize = (await stat(big.path)).size;
  const smallSize = (await stat(small.path)).size;
  const { server, port } = await startServer(
    new Map([
      ['/big.otab', big.path],
      ['/small.otab', small.path],
    ]),
  );
  const url = (name: string): string => `http://127.0.0.1:${port}/${name}`;
  const out = join(dir, 'download.otab');
  const workDir = join(dir, 'work');
  const settle = async (): Promise<void> => {
    await rm(out, { force: true });
    await rm(`${out}.offset`, { force: true });
    await rm(workDir, { recursive: true, force: true });
    execFileSync('sync');
  };
  const ota = (withWorkDir: boolean, nodeFlags: readonly string[] = []): Promise<ChildReport> =>
    runChild(
      OTA_CHILD,
      [
        JSON.stringify({
          url: url('big.otab'),
          size: bigSize,
          sha256: big.sha256,
          out,
          trustPath,
          ...(withWorkDir ? { workDir } : {}),
          ...(process.env.BENCH_SYNC_BYTES === undefined
            ? {}
            : { syncEveryBytes: Number(process.env.BENCH_SYNC_BYTES) }),
        }),
      ],
      nodeFlags,
    );

  try {
    await settle();
    const smallRun = await runChild(OTA_CHILD, [
      JSON.stringify({ url: url('small.otab'), size: smallSize, sha256: small.sha256, out, trustPath }),
    ]);
    await settle();
    const plain: ChildReport[] = [];
    const streamed: ChildReport[] = [];
    const withWorkDir: ChildReport[] = [];
    const unitFlags: ChildReport[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      plain.push(await runChild(PLAIN_CHILD, [url('big.otab'), out]));
      await settle();
      streamed.push(await ota(false));
      await settle();
      // The same download and verify under the unit's node flags (what a device runs): their cost, if any.
      unitFlags.push(await ota(false, UNIT_NODE_FLAGS));
      await settle();
      withWorkDir.push(await ota(true));
      await settle();
    }
    const mb = bigSize / 1e6;
    const plainSeconds = median(plain.map((r) => r.seconds));
    const plainDurableSeconds = median(plain.map((r) => r.durableSeconds ?? Number.NaN));
    const otaSeconds = median(streamed.map((r) => r.seconds));
    const otaWorkDirSeconds = median(withWorkDir.map((r) => r.seconds));
    const otaUnitFlagsSeconds = median(unitFlags.map((r) => r.seconds));
    const peakRssMB = Math.max(...streamed.map((r) => r.maxRssMB), ...withWorkDir.map((r) => r.maxRssMB));
    const result = {
      bench: 'agent-ota-download-1GiB',
      bytes: bigSize,
      rounds: ROUNDS,
      plainDurableMBps: Math.round(mb / plainDurableSeconds),
      plainPageCacheMBps: Math.round(mb / plainSeconds),
      otaMBps: Math.round(mb / otaSeconds),
      otaWithWorkDirMBps: Math.round(mb / otaWorkDirSeconds),
      ratio: Number((plainDurableSeconds / otaSeconds).toFixed(3)),
      ratioToPageCache: Number((plainSeconds / otaSeconds).toFixed(3)),
      ratioWithWorkDir: Number((plainDurableSeconds / otaWorkDirSeconds).toFixed(3)),
      unitNodeFlags: UNIT_NODE_FLAGS,
      otaUnitFlagsMBps: Math.round(mb / otaUnitFlagsSeconds),
      ratioUnitFlags: Number((plainDurableSeconds / otaUnitFlagsSeconds).toFixed(3)),
      unitFlagsPeakRssMB: Math.round(Math.max(...unitFlags.map((r) => r.maxRssMB))),
      peakRssMB: Math.round(peakRssMB),
      peakRssMB64MiBBundle: Math.round(smallRun.maxRssMB),
      plainPeakRssMB: Math.round(Math.max(...plain.map((r) => r.maxRssMB))),
      loadAvgAtStart,
      loadAvgAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
      runs: {
        plainSeconds: plain.map((r) => Number(r.seconds.toFixed(2))),
        plainDurableSeconds: plain.map((r) => Number((r.durableSeconds ?? 0).toFixed(2))),
        otaSeconds: streamed.map((r) => Number(r.seconds.toFixed(2))),
        otaWithWorkDirSeconds: withWorkDir.map((r) => Number(r.seconds.toFixed(2))),
        plainCpuSeconds: plain.map((r) => Number((r.cpu ?? 0).toFixed(2))),
        otaCpuSeconds: streamed.map((r) => Number((r.cpu ?? 0).toFixed(2))),
        otaWithWorkDirCpuSeconds: withWorkDir.map((r) => Number((r.cpu ?? 0).toFixed(2))),
        otaUnitFlagsSeconds: unitFlags.map((r) => Number(r.seconds.toFixed(2))),
        otaUnitFlagsCpuSeconds: unitFlags.map((r) => Number((r.cpu ?? 0).toFixed(2))),
      },
      machine: `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    // Targets: at least 0.8 of a durable plain download, also under the unit's flags; memory flat (the 1 GiB peak
    // within 16 MB of the 64 MiB one).
    if (result.ratio < 0.8 || result.ratioUnitFlags < 0.8 || result.peakRssMB > result.peakRssMB64MiBBundle + 16)
      process.exitCode = 1;
  } finally {
    server.closeAllConnections();
    server.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

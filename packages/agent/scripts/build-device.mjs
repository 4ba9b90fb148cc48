#!/usr/bin/env node
// The device build: `pnpm --filter @otafleet/agent build:device [-- --out DIR]` writes a complete, self-contained
// agent installation (default packages/agent/dist-device/):
//
//   bin/otaagent.js            the otaagent command (run, status, rollback, config check), bundled and minified
//   bin/otaagent-launcher.js   the self-update launcher (starts slots/{A,B}/bin/otaagent.js)
//   bin/chunks/*.js            code loaded on first use (update flow, download, mqtt.js's connectors, ...)
//   node_modules/better-sqlite3 (+ bindings, file-uri-to-path)   the one native module, built for this machine
//   systemd/otaagent.service, docs/agent*.md   the unit and the install guide
//   package.json               { "type": "module", "version" }
//
// Why a bundle: V8 keeps the source text of every module it loaded and Node's ESM loader keeps a record per module;
// the agent loads about 600 files (TypeBox alone 266), so the same code as one minified graph idles about 6 MB
// lower (BENCHMARKS.md, agent idle RSS). Code splitting keeps what the agent loads lazily (the update path, the
// AWS SDK transport) out of the start-up chunk. The tree is also what an agent self-update bundle carries (an
// app-dir tar of it) and what the launcher's slots hold.
//
// The aws-iot-device-sdk-v2 transport stays external (aws-crt is 44 MB of native binaries for every platform): a
// device that uses it installs aws-iot-device-sdk-v2 into the build (`npm install aws-iot-device-sdk-v2` in DIR);
// without it the transport says so when it is chosen. pino-pretty stays external too: on a terminal without it the
// logger writes JSON.
import { build } from 'esbuild';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(packageDir, 'dist-device'));
const requireHere = createRequire(join(packageDir, 'package.json'));

/** The native module and its runtime dependency chain, copied as installed (the .node file is this machine's). */
const NATIVE = ['better-sqlite3', 'bindings', 'file-uri-to-path'];
/** Of better-sqlite3 only what runs: not its C sources (deps/, src/) or the build's intermediate files. */
const BETTER_SQLITE3_FILES = ['package.json', 'lib', 'build/Release/better_sqlite3.node', 'LICENSE'];

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'bin'), { recursive: true });

await build({
  entryPoints: {
    otaagent: join(packageDir, 'src/cli/main.ts'),
    'otaagent-launcher': join(packageDir, 'bin/otaagent-launcher.js'),
  },
  outdir: join(out, 'bin'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // The workspace packages' TypeScript sources (their "source" export), so no tsc output is needed.
  conditions: ['source'],
  external: ['better-sqlite3', 'aws-iot-device-sdk-v2', 'aws-crt', 'pino-pretty'],
  // CommonJS dependencies (mqtt.js, pino) call require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __otaCreateRequire } from 'node:module';const require = __otaCreateRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});

// Each resolved from the one that depends on it (pnpm links a package's dependencies next to it only).
let resolveFrom = packageDir;
for (const name of NATIVE) {
  const from = dirname(requireHere.resolve(`${name}/package.json`, { paths: [resolveFrom] }));
  resolveFrom = from;
  const to = join(out, 'node_modules', name);
  if (name === 'better-sqlite3') {
    for (const f of BETTER_SQLITE3_FILES) await cp(join(from, f), join(to, f), { recursive: true });
  } else {
    await cp(from, to, { recursive: true, dereference: true, filter: (p) => !p.includes(`${name}/node_modules`) });
  }
}

// The commands are executables; the CLI's entry has no hashbang of its own (the launcher's is kept by esbuild).
const cli = join(out, 'bin', 'otaagent.js');
const text = await readFile(cli, 'utf8');
if (!text.startsWith('#!')) await writeFile(cli, `#!/usr/bin/env node\n${text}`);
for (const f of ['otaagent.js', 'otaagent-launcher.js']) await chmod(join(out, 'bin', f), 0o755);
// What an operator needs next to it on the device: the unit and the install guide.
await cp(join(packageDir, 'systemd', 'otaagent.service'), join(out, 'systemd', 'otaagent.service'));
for (const doc of ['agent-raspberry-pi.md', 'agent.md', 'agent-slots.md'])
  await cp(join(packageDir, '..', '..', 'docs', doc), join(out, 'docs', doc));

const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
await writeFile(
  join(out, 'package.json'),
  `${JSON.stringify({ name: 'otaagent-device', version, private: true, type: 'module' }, null, 2)}\n`,
);
writeSync(1, `device build written to ${out}\n`); // fd 1 works for a pipe, a file or a socket alike

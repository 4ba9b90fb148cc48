import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { buildAgent, packageDir, startBenchDevice } from '../bench/lib/bench-device.js';
const IDLE_MS = 5000;
async function rssMb(pid: number) { const s = await readFile(`/proc/${pid}/status`, 'utf8'); return Number(/^VmRSS:\s+(\d+) kB$/m.exec(s)?.[1]) / 1024; }
const idleRss = (args: string[]) => new Promise<number>((resolve, reject) => {
  const child = spawn(process.execPath, args, { cwd: packageDir, env: { ...process.env, LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let seen = false; let m: number | undefined;
  createInterface({ input: child.stdout }).on('line', (l) => { if (seen || !l.includes('"connected to the broker"')) return; seen = true; setTimeout(() => rssMb(child.pid!).then((x) => { m = x; child.kill('SIGTERM'); }), IDLE_MS); });
  child.once('exit', (c) => (m === undefined ? reject(new Error('exit ' + c)) : resolve(m)));
});
const agent = await buildAgent();
const dev = await startBenchDevice('probe-pi', agent);
const variants: Record<string, string[]> = JSON.parse(process.env.VARIANTS!);
const out: Record<string, number[]> = {};
for (let i = 0; i < Number(process.env.ROUNDS ?? 2); i++) for (const [k, v] of Object.entries(variants)) { (out[k] ??= []).push(Number((await idleRss([...v.map((x) => x.replace('CONFIG', dev.configPath))])).toFixed(1))); }
console.log(JSON.stringify({ out, load: loadavg()[0] }));
await dev.close();

/**
 * Rollout at scale: BENCH_DEVICES (10,000) virtual devices running the real agent on the local stack (core, embedded
 * broker, fleet service in this process; devices on BENCH_WORKERS worker threads), the happy-path preset's good
 * release through its 4 waves (10 devices, 25 %, 50 %, 100 %) to every device. The simulator issue's target: under
 * 120 s on a 2-core machine. Reports wall time per stage and per wave, peak RSS and CPU seconds (all threads), and
 * fails (exit 1, the failed checks on stderr) when the rollout does not complete, a wave times out or the run passes
 * its deadline; a watchdog ends a run that hangs past the deadline.
 *
 *   pnpm --filter @otafleet/simulator bench:rollout   (node --max-semi-space-size=32, as `pnpm sim` runs)
 *   env: BENCH_DEVICES (10000) BENCH_WORKERS (2) BENCH_DEADLINE_S (600) BENCH_WAVE_TIMEOUT_S (300) BENCH_REPORT (file)
 *        BENCH_VERIFY (per-content-hash, the simulator's default | per-device: how devices check the shared bundle)
 *   main-thread profile: add --cpu-prof --cpu-prof-dir=DIR to node's options (NODE_OPTIONS, or run node directly)
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { loadScenario, planScenario, runScenario } from '../src/index.js';

const devices = Number(process.env['BENCH_DEVICES'] ?? 10_000);
const workers = Number(process.env['BENCH_WORKERS'] ?? 2);
const deadlineSeconds = Number(process.env['BENCH_DEADLINE_S'] ?? 600);
const waveTimeoutSeconds = Number(process.env['BENCH_WAVE_TIMEOUT_S'] ?? 300);
const reportPath = process.env['BENCH_REPORT'];
const bundleVerification = process.env['BENCH_VERIFY'] ?? 'per-content-hash';
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (why: string): never => {
  process.stderr.write(`rollout-10k: FAILED: ${why}\n`);
  process.exit(1);
};

for (const [name, v] of Object.entries({ devices, workers, deadlineSeconds, waveTimeoutSeconds })) {
  if (!Number.isInteger(v) || v < (name === 'workers' ? 0 : 1)) fail(`${name} must be a whole number (got ${v})`);
}
if (bundleVerification !== 'per-device' && bundleVerification !== 'per-content-hash')
  fail(`BENCH_VERIFY must be per-device or per-content-hash (got ${bundleVerification})`);

const loaded = await loadScenario('happy-path');
if (!loaded.ok) fail(`the happy-path preset did not load: ${String(loaded.error)}`);
const base = loaded.ok ? loaded.value.scenario : fail('unreachable');
const scenario = {
  ...base,
  rollout: { ...base.rollout, waveTimeoutSeconds },
  expect: { ...base.expect, deadlineSeconds },
};
const plan = planScenario(scenario, { devices });

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
// The run ends itself at its deadline; this ends a run that does not (a part that hangs while closing).
const watchdog = setTimeout(
  () => fail(`no report ${deadlineSeconds + 120} s after the start (hung)`),
  (deadlineSeconds + 120) * 1000,
);
const load0 = loadavg();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let lastStage = '';
const report = await runScenario({
  plan,
  workers,
  bundleVerification: bundleVerification as 'per-device' | 'per-content-hash',
  logger: pino({ level: process.env['BENCH_LOG'] ?? 'warn' }, pino.destination(2)),
  pollMs: 250,
  onProgress: (p) => {
    const waves = p.rollout?.waves.map((w) => `${w.name}:${w.status}`).join(' ') ?? '';
    const line = `${p.stage} ${p.rollout?.status ?? ''} ${waves}`;
    if (line === lastStage) return;
    lastStage = line;
    process.stderr.write(`[${(p.elapsedMs / 1000).toFixed(1)} s] ${line} ${JSON.stringify(p.phases)}\n`);
  },
});
const wallSeconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
clearTimeout(watchdog);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);

const m = report.measured;
const result = {
  bench: 'rollout-10k',
  devices: report.devices,
  workers,
  bundleVerification,
  passed: report.passed,
  rollout: report.rollout.status,
  waves: report.rollout.waves.map((w, i) => ({
    name: w.name,
    status: w.status,
    devices: w.devices,
    deployToSettleS: (m.waves[i]?.deployToSettleMs ?? NaN) / 1000,
  })),
  wallSeconds: Math.round(wallSeconds * 10) / 10,
  stagesS: Object.fromEntries(Object.entries(m.timingsMs).map(([k, v]) => [k.replace(/Ms$/, ''), v / 1000])),
  cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
  peakRssMB: Math.round(peakRss / 1e5) / 10,
  messages: m.messages,
  agentRestarts: m.agentRestarts,
  load: { before: load0.map((l) => l.toFixed(2)), after: loadavg().map((l) => l.toFixed(2)) },
};
if (reportPath !== undefined && reportPath !== '') writeFileSync(reportPath, JSON.stringify(report, null, 2));
out(JSON.stringify(result, null, 2));
if (!report.passed) {
  fail(
    report.checks
      .filter((c) => !c.passed)
      .map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`)
      .join('; '),
  );
}
process.exit(0);

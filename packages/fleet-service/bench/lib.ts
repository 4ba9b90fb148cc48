/** What the fleet service's benchmarks share: medians, ratios, the machine's load, one JSON line per bench. */
import { availableParallelism, loadavg } from 'node:os';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

export const ratio = (a: number, b: number): number => (b === 0 ? Number.NaN : Number((a / b).toFixed(3)));

/** 1-minute load average and cores: a result measured on a busy machine says so. */
export const loadAverage = (): { loadAvg1m: number; cores: number } => ({
  loadAvg1m: Number((loadavg()[0] ?? 0).toFixed(2)),
  cores: availableParallelism(),
});

export const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};

/** The bench's one result line (stdout is the benches' output channel). */
export const report = (result: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

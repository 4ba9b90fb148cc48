import { loadavg } from 'node:os';
import type { LoadClients, PhaseOptions, RequestKind } from './load.js';

/**
 * The measurement method every bench shares: the phases of all kinds run alternating, round after round
 * (loopback, service, puback, loopback, service, puback, ...), against one server process, so machine noise
 * lands on baseline and service alike; each kind's figure is the MEDIAN of its rounds. An unreported short
 * pass of every phase runs first.
 */
export interface BenchSettings extends PhaseOptions {
  readonly clients: number;
  readonly rounds: number;
}

const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};

/** Defaults (the same for every bench) overridable by BENCH_CLIENTS, BENCH_WINDOW, BENCH_PHASE_MS, ... */
export function benchSettings(defaults: Partial<BenchSettings> = {}): BenchSettings {
  return {
    clients: envNumber('BENCH_CLIENTS', defaults.clients ?? 16),
    window: envNumber('BENCH_WINDOW', defaults.window ?? 10),
    warmupMs: envNumber('BENCH_WARMUP_MS', defaults.warmupMs ?? 300),
    phaseMs: envNumber('BENCH_PHASE_MS', defaults.phaseMs ?? 2000),
    rounds: envNumber('BENCH_ROUNDS', defaults.rounds ?? 5),
  };
}

export interface KindSummary {
  /** Median completions/s over the rounds. */
  readonly median: number;
  readonly runs: readonly number[];
  readonly rejected: number;
  readonly lost: number;
  /** Median CPU use of the server process and of this (client) process in the timed windows; 1 = one core. */
  readonly serverCpu: number | undefined;
  readonly clientCpu: number;
}

export type Summary<K extends string> = Record<K, KindSummary>;

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** Runs `rounds` rounds of every phase in `order`; a phase is a kind on a given set of clients. */
export async function alternate<K extends string>(
  phases: readonly { readonly name: K; readonly load: LoadClients; readonly kind: RequestKind }[],
  settings: BenchSettings,
): Promise<Summary<K>> {
  interface Acc {
    runs: number[];
    rejected: number;
    lost: number;
    serverCpu: number[];
    clientCpu: number[];
  }
  const acc = new Map<K, Acc>();
  for (const p of phases) acc.set(p.name, { runs: [], rejected: 0, lost: 0, serverCpu: [], clientCpu: [] });
  // One short unreported pass of every phase first, so no kind pays for JIT and first connections.
  for (const p of phases) await p.load.run(p.kind, { ...settings, phaseMs: settings.warmupMs });
  for (let r = 0; r < settings.rounds; r++) {
    for (const p of phases) {
      const result = await p.load.run(p.kind, settings);
      const a = acc.get(p.name);
      if (a === undefined) continue;
      a.runs.push(Math.round(result.perSec));
      a.rejected += result.rejected;
      a.lost += result.lost;
      if (result.serverCpu !== undefined) a.serverCpu.push(result.serverCpu);
      a.clientCpu.push(result.clientCpu);
    }
  }
  const out = {} as Record<K, KindSummary>;
  const cpu = (xs: readonly number[]): number => Number(median(xs).toFixed(2));
  for (const [name, a] of acc) {
    out[name] = {
      median: Math.round(median(a.runs)),
      runs: a.runs,
      rejected: a.rejected,
      lost: a.lost,
      serverCpu: a.serverCpu.length === 0 ? undefined : cpu(a.serverCpu),
      clientCpu: cpu(a.clientCpu),
    };
  }
  return out;
}

export const ratio = (a: number, b: number): number => (b === 0 ? 0 : Number((a / b).toFixed(3)));

export const loadAverage = (): number => Number((loadavg()[0] ?? 0).toFixed(2));

/** Common fields of every bench's JSON line. */
export const settingsFields = (s: BenchSettings, loadAvgAtStart: number): Record<string, unknown> => ({
  clients: s.clients,
  window: s.window,
  phaseSeconds: s.phaseMs / 1000,
  warmupSeconds: s.warmupMs / 1000,
  rounds: s.rounds,
  aggregate: 'median',
  loadAvgAtStart,
});

/**
 * Per phase: CPU use of the server and client processes (1 = one core busy) and the server's CPU time per
 * completed request; a phase whose server is near 1 is limited by the server, one whose client is, by the load.
 */
export function cpuFields<K extends string>(s: Summary<K>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(s) as K[]) {
    const k = s[name];
    out[name] = {
      server: k.serverCpu,
      client: k.clientCpu,
      serverMicrosPerRequest:
        k.serverCpu === undefined || k.median === 0 ? undefined : Math.round((k.serverCpu / k.median) * 1e6),
    };
  }
  return out;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLIENT = fileURLToPath(new URL('registry-client-process.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface ClientLoad {
  readonly endpoint: string;
  readonly count: number;
  /** Calls in flight over all processes. */
  readonly inFlight: number;
  readonly groups: readonly string[];
  /** Client processes sharing the things and the calls in flight. */
  readonly processes: number;
}

export interface ClientRun {
  /** Wall time from the start signal to the last answer of the last process. */
  readonly ms: number;
  /** CPU time (user + system) of all client processes over their runs. */
  readonly cpuMicros: number;
}

interface Started {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly done: Promise<{ cpuMicros: number; ms: number }>;
}

function startClient(load: ClientLoad, first: number, count: number, inFlight: number): Started {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      CLIENT,
      '--endpoint',
      load.endpoint,
      '--first',
      String(first),
      '--count',
      String(count),
      '--in-flight',
      String(inFlight),
      '--groups',
      load.groups.join(','),
    ],
    { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  let onReady = (): void => undefined;
  let onDone = (_r: { cpuMicros: number; ms: number }): void => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<{ cpuMicros: number; ms: number }>((resolve, reject) => {
    onDone = resolve;
    child.once('exit', (code) => reject(new Error(`registry client exited with code ${String(code)}`)));
  });
  void ready.catch(() => undefined);
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('READY\n')) onReady();
    const m = /DONE (\{.*\})\n/.exec(out);
    if (m?.[1] !== undefined) onDone(JSON.parse(m[1]) as { cpuMicros: number; ms: number });
  });
  return { child, ready: Promise.race([ready, done.then(() => undefined)]), done };
}

/** Splits the things and the calls in flight over `processes` client processes and runs them at once. */
export async function runClientProcesses(load: ClientLoad): Promise<ClientRun> {
  const n = Math.max(1, load.processes);
  const clients: Started[] = [];
  let first = 0;
  for (let i = 0; i < n; i++) {
    const count = Math.floor(load.count / n) + (i < load.count % n ? 1 : 0);
    const inFlight = Math.max(1, Math.floor(load.inFlight / n) + (i < load.inFlight % n ? 1 : 0));
    clients.push(startClient(load, first, count, inFlight));
    first += count;
  }
  try {
    await Promise.all(clients.map((c) => c.ready));
    const started = performance.now();
    for (const c of clients) c.child.stdin?.write('GO\n');
    const results = await Promise.all(clients.map((c) => c.done));
    return { ms: performance.now() - started, cpuMicros: results.reduce((sum, r) => sum + r.cpuMicros, 0) };
  } finally {
    for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGTERM');
  }
}

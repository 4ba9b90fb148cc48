import { spawn } from 'node:child_process';
import { SlotError } from './errors.js';

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a tool to completion. Resolves with its exit code (non-zero included); rejects only when the tool
 * cannot be started. Injected so a device can run tools through a wrapper (sudo, a namespace) and tests
 * can count calls; the real tools run in every test.
 */
export type ExecTool = (
  file: string,
  args: readonly string[],
  options?: { readonly input?: string },
) => Promise<ExecResult>;

/** Tool output is a few KiB at most (an environment listing); more means something is wrong. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export const execTool: ExecTool = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.once('error', (e) =>
      reject(new SlotError('SLOT_TOOL_FAILED', `cannot run ${file}: ${e.message}`, { cause: e })),
    );
    child.once('close', (code, signal) => {
      resolve({
        exitCode: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });

/** Runs a tool and insists on exit 0; the error carries the tool's own words. */
export async function runTool(exec: ExecTool, file: string, args: readonly string[], input?: string): Promise<string> {
  const result = await exec(file, args, input === undefined ? {} : { input });
  if (result.exitCode !== 0) {
    throw new SlotError(
      'SLOT_TOOL_FAILED',
      `${file} ${args.join(' ')} exited with ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

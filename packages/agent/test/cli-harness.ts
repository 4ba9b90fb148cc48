import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** The `otaagent` command as a device runs it: the plain-JS launcher in bin/, a real process. */
export const OTAAGENT = fileURLToPath(new URL('../bin/otaagent.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function otaagent(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OTAAGENT, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `otaagent … --json` parsed. */
export async function otaagentJson(args: readonly string[]): Promise<{ code: number | null; body: unknown }> {
  const r = await otaagent([...args, '--json']);
  return { code: r.code, body: JSON.parse(r.stdout) as unknown };
}

/**
 * A real unix datagram socket where systemd's NOTIFY_SOCKET would be (Node has none, so python3 binds it), and the
 * notify messages it received, one datagram each.
 */
export interface NotifySocket {
  readonly path: string;
  readonly messages: string[];
  close(): void;
}

export async function listenNotifySocket(path: string): Promise<NotifySocket> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(path)})`,
    'print("bound", flush=True)',
    'while True:',
    '    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)',
  ].join('\n');
  const child: ChildProcess = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'bound') resolve();
      else messages.push(line);
    });
  });
  return { path, messages, close: () => void child.kill('SIGKILL') };
}

import { createRequire } from 'node:module';
import { pino, type DestinationStream, type LevelWithSilentOrString, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded only when pretty output is wanted: a device logging JSON never pays for it.
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/**
 * pino-pretty where it is installed. The agent's device build ships without it (a device logs JSON); run there on a
 * terminal, the same records come out as JSON instead of failing to start.
 */
function prettyOrUndefined(): typeof PinoPretty | undefined {
  try {
    return loadPretty();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

export type LogFormat = 'pretty' | 'json';

export interface ProcessLoggerOptions {
  readonly name: string;
  readonly level: LevelWithSilentOrString;
  /**
   * `pretty` for people, `json` for machines. Default: pretty when stdout is a terminal, JSON otherwise (a
   * supervisor, a pipe, a log shipper); the environment variable LOG_FORMAT overrides it.
   */
  readonly format?: LogFormat;
  /** Where lines go; default stdout. */
  readonly destination?: DestinationStream;
}

/** Reads LOG_FORMAT; anything but `pretty`/`json` is an error the caller reports (never silently ignored). */
export function logFormatFrom(env: NodeJS.ProcessEnv, isTty: boolean): LogFormat {
  const raw = env['LOG_FORMAT'];
  if (raw === undefined || raw === '') return isTty ? 'pretty' : 'json';
  if (raw === 'pretty' || raw === 'json') return raw;
  throw new Error(`LOG_FORMAT must be "pretty" or "json", got "${raw}"`);
}

/**
 * The logger of a long-running process: structured JSON (pino) for machines, the same records pretty-printed on a
 * terminal. Pretty-printing runs in-process (no transport worker thread), so a device pays no extra thread.
 */
export function createProcessLogger(options: ProcessLoggerOptions): Logger {
  const format = options.format ?? logFormatFrom(process.env, process.stdout.isTTY);
  const base = { name: options.name, level: options.level };
  const pretty = format === 'pretty' ? prettyOrUndefined() : undefined;
  if (pretty === undefined) return options.destination === undefined ? pino(base) : pino(base, options.destination);
  const stream = pretty({
    colorize: options.destination === undefined && process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(options.destination === undefined ? {} : { destination: options.destination }),
  });
  return pino(base, stream);
}

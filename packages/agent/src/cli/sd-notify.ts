import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * The systemd notify protocol (sd_notify) for `Type=notify` with `WatchdogSec=`: READY=1 once the agent runs,
 * WATCHDOG=1 at half the watchdog interval, STOPPING=1 on shutdown. Node has no unix datagram sockets, so the
 * datagrams are sent by systemd's own `systemd-notify` with `--pid` naming this process (the unit sets
 * NotifyAccess=all, since the sender is a child). Nothing happens without NOTIFY_SOCKET.
 */
export interface SystemdNotifier {
  ready(status: string): Promise<void>;
  stopping(): Promise<void>;
  /** Pings until close(); returns the interval in ms, or undefined when systemd asked for no watchdog. */
  startWatchdog(): number | undefined;
  close(): void;
}

export interface NotifierOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** The program that sends the datagrams (default `systemd-notify` on PATH). */
  readonly program?: string;
}

/** The watchdog interval systemd gave this process, in ms (WATCHDOG_USEC, for us when WATCHDOG_PID says so). */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 1000));
}

export function systemdNotifier(o: NotifierOptions): SystemdNotifier | undefined {
  const socket = o.env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') return undefined;
  const program = o.program ?? 'systemd-notify';
  let timer: ReturnType<typeof setInterval> | undefined;
  const send = (...assignments: string[]): Promise<void> =>
    new Promise((resolve) => {
      execFile(
        program,
        [`--pid=${process.pid}`, ...assignments],
        { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: 10_000 },
        (e) => {
          if (e !== null) o.logger.warn({ err: e, assignments }, 'systemd notification failed');
          resolve();
        },
      );
    });
  return {
    ready: (status) => send('READY=1', `STATUS=${status}`),
    stopping: () => send('STOPPING=1', 'STATUS=stopping'),
    startWatchdog() {
      const interval = watchdogIntervalMs(o.env, process.pid);
      if (interval === undefined || timer !== undefined) return interval;
      // Half the interval, as sd_watchdog_enabled(3) advises; the timer lives on the event loop, so a wedged loop
      // stops the pings and systemd restarts the agent.
      timer = setInterval(() => void send('WATCHDOG=1'), Math.max(1, Math.floor(interval / 2)));
      timer.unref();
      return interval;
    },
    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

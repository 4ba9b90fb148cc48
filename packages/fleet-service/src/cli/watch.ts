/** `fleet rollouts watch`: a live view of a rollout's waves, redrawn in place on a terminal, plain lines otherwise. */

export interface WaveProgress {
  readonly index: number;
  readonly name: string;
  readonly status: string;
  readonly devices: number;
  readonly executions?: {
    readonly targeted: number;
    readonly queued: number;
    readonly inProgress: number;
    readonly succeeded: number;
    readonly failed: number;
  };
  readonly decision?: string;
}

export interface RolloutProgress {
  readonly id: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly currentWave: number;
  readonly waves: readonly WaveProgress[];
}

const BAR = 20;

/** One wave as a line: name, state, a bar of settled executions over its devices, the counts. */
export function waveLine(w: WaveProgress): string {
  const e = w.executions;
  const settled = e === undefined ? 0 : e.succeeded + e.failed;
  const filled = w.devices === 0 ? (w.status === 'passed' ? BAR : 0) : Math.round((settled / w.devices) * BAR);
  const bar = `[${'#'.repeat(Math.min(BAR, filled))}${'.'.repeat(Math.max(0, BAR - filled))}]`;
  const counts =
    e === undefined
      ? `${w.devices} devices`
      : `${e.succeeded}/${w.devices} ok, ${e.failed} failed, ${e.inProgress} installing, ${e.queued} queued`;
  return `${w.name.padEnd(10)} ${w.status.padEnd(9)} ${bar} ${counts}${w.decision === undefined ? '' : `  gate: ${w.decision}`}`;
}

export const headLine = (p: RolloutProgress): string =>
  `rollout ${p.id}: ${p.status}${p.statusReason === undefined ? '' : ` — ${p.statusReason}`}`;

/** The statuses a watch ends on: nothing more happens without an operator. */
export const WATCH_ENDS_ON: readonly string[] = ['completed', 'rolled-back', 'aborted', 'canceled', 'paused'];

/**
 * Renders successive progress snapshots: on a TTY the whole block is redrawn in place (cursor up, clear);
 * otherwise only lines that changed are printed, each once, with the time — readable in a CI log.
 */
export function createProgressRenderer(options: {
  readonly tty: boolean;
  readonly write: (text: string) => void;
  readonly now: () => number;
}): (p: RolloutProgress) => void {
  let drawn = 0;
  const last = new Map<string, string>();
  return (p) => {
    const lines = [headLine(p), ...p.waves.map(waveLine)];
    if (options.tty) {
      options.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
      return;
    }
    const stamp = new Date(options.now()).toISOString().slice(11, 19);
    lines.forEach((line, i) => {
      const key = i === 0 ? 'rollout' : `wave ${i - 1}`;
      if (last.get(key) === line) return;
      last.set(key, line);
      options.write(`${stamp} ${line}\n`);
    });
  };
}

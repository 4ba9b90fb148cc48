import type { RunProgress } from '../run/run-scenario.js';

/** Where the CLI writes: stdout, and whether it is a terminal that can be redrawn. */
export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
}

export const stdoutOutput = (): Output => ({
  write: (text) => void process.stdout.write(text),
  isTTY: process.stdout.isTTY === true,
});

const describe = (p: RunProgress): string[] => {
  const phases = Object.entries(p.phases)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([phase, n]) => `${phase} ${n}`)
    .join('  ');
  const waves = p.rollout?.waves.map((w) => `${w.name}:${w.status}`).join('  ') ?? '';
  return [
    `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s] ${p.stage}${p.rollout === undefined ? '' : `  rollout ${p.rollout.status}`}`,
    `  waves   ${waves}`,
    `  devices ${phases}`,
  ];
};

/**
 * Live progress: on a terminal, three lines redrawn in place at most `perSecond` times a second; otherwise a
 * plain line whenever the stage, the rollout or a wave changes, and the device phases every `plainEveryMs`.
 */
export function progressPrinter(
  out: Output,
  perSecond = 4,
  plainEveryMs = 5_000,
): {
  update(p: RunProgress): void;
  done(): void;
} {
  let last: RunProgress | undefined;
  let drawnLines = 0;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastKey = '';
  let lastPlain = 0;
  const draw = (): void => {
    timer = undefined;
    if (last === undefined) return;
    lastDraw = Date.now();
    const lines = describe(last);
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawnLines = lines.length;
  };
  return {
    update(p) {
      last = p;
      if (out.isTTY) {
        const wait = lastDraw + 1000 / perSecond - Date.now();
        if (wait <= 0) draw();
        else timer ??= setTimeout(draw, wait);
        return;
      }
      const key = `${p.stage}|${p.rollout?.status ?? ''}|${p.rollout?.waves.map((w) => w.status).join(',') ?? ''}`;
      if (key !== lastKey || Date.now() - lastPlain >= plainEveryMs) {
        lastKey = key;
        lastPlain = Date.now();
        out.write(`${describe(p).join(' |')}\n`);
      }
    },
    done() {
      if (timer !== undefined) clearTimeout(timer);
      if (out.isTTY) draw();
    },
  };
}

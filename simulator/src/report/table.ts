import type { SimReport } from './report.js';

/** Columns padded to their widest cell. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** The report for a person: outcome first, then the rollout, the devices, and what failed. */
export function renderReport(r: SimReport): string {
  const out: string[] = [];
  out.push(
    `scenario ${r.scenario}  seed ${r.seed}  devices ${r.devices}  rollout ${r.rollout.id} (${r.rollout.release}): ${r.rollout.status}`,
  );
  out.push('');
  out.push(
    table(
      ['wave', 'status', 'devices', 'gate', 'deploy→settled', 'deploy→decided'],
      r.rollout.waves.map((w, i) => [
        w.name,
        w.status,
        String(w.devices),
        w.decision ?? '-',
        seconds(r.measured.waves[i]?.deployToSettleMs),
        seconds(r.measured.waves[i]?.deployToDecisionMs),
      ]),
    ),
  );
  out.push('');
  out.push(
    table(
      ['version', 'phase', 'devices'],
      r.finalStates.map((s) => [s.version, s.phase, String(s.devices)]),
    ),
  );
  if (r.rollbacks.total > 0) {
    out.push('');
    out.push(
      table(
        ['rollback reason', 'count'],
        Object.entries(r.rollbacks.byReasonCode).map(([code, n]) => [code, String(n)]),
      ),
    );
  }
  if (r.jobs.length > 0) {
    out.push('');
    out.push(
      table(
        ['job', 'executions by status'],
        r.jobs.map((j) => [
          j.job,
          Object.entries(j.byStatus)
            .map(([s, n]) => `${s} ${n}`)
            .join(', '),
        ]),
      ),
    );
  }
  for (const g of r.measured.gateFindings) out.push(`gate ${g.wave}: ${g.message}`);
  out.push('');
  const m = r.measured;
  out.push(
    `messages in ${m.messages.in} out ${m.messages.out}  agent restarts ${m.agentRestarts}  reboots ${m.reboots}  power cuts ${m.powerCuts}  offline at end ${m.offlineAtEnd}  total ${seconds(m.timingsMs['totalMs'])}`,
  );
  out.push('');
  out.push(
    table(
      ['check', 'result', 'expected', 'observed'],
      r.checks.map((c) => [c.name, c.passed ? 'ok' : 'FAILED', c.expected, c.observed]),
    ),
  );
  out.push('');
  out.push(r.passed ? 'expected outcome: held' : 'expected outcome: NOT held');
  return out.join('\n');
}

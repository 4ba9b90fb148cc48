import type { HealthStore } from '../health/types.js';
import type { WaveInstallCounts } from '../rollout/health-gate.js';
import type { RolloutStore } from '../store/types.js';

/**
 * The service's Prometheus metrics, in the text exposition format (0.0.4). Gauges of state (rollouts, waves,
 * devices) are read from the stores at scrape time, so they are right after a restart; counters of events since
 * the process started (requests, job updates, rate-limited calls, backups) live here.
 */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface ServiceMetrics {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** A wave job's execution counts as the engine read them: the gauges, and the settled deltas as updates seen. */
  observeJobCounts(rolloutId: string, wave: number, counts: WaveInstallCounts): void;
  /** The newest counts the engine read for each wave job of a rollout (wave index → counts). */
  jobCountsOf(rolloutId: string): ReadonlyMap<number, WaveInstallCounts>;
  countRateLimited(): void;
  countBackup(outcome: 'ok' | 'failed'): void;
  render(sources: { readonly rollouts: RolloutStore; readonly health: HealthStore }): Promise<string>;
}

/** A label value, escaped as the exposition format requires. */
const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (pairs: Record<string, string>): string =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${label(v)}"`)
    .join(',')}}`;

interface Histogram {
  readonly buckets: number[];
  count: number;
  sum: number;
}

export function createServiceMetrics(): ServiceMetrics {
  const requests = new Map<string, { labels: Record<string, string>; h: Histogram }>();
  const jobGauges = new Map<string, { rollout: string; wave: string; counts: WaveInstallCounts }>();
  const jobUpdates = { succeeded: 0, failed: 0 };
  let rateLimited = 0;
  const backups = { ok: 0, failed: 0 };

  return {
    observeRequest(method, route, status, seconds) {
      const l = { method, route, status_class: `${Math.floor(status / 100)}xx` };
      const key = JSON.stringify(l);
      let entry = requests.get(key);
      if (entry === undefined) {
        entry = { labels: l, h: { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), count: 0, sum: 0 } };
        requests.set(key, entry);
      }
      const { h } = entry;
      LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
        if (seconds <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
      });
      h.count++;
      h.sum += seconds;
    },
    observeJobCounts(rolloutId, wave, counts) {
      const key = `${rolloutId}\u0000${wave}`;
      const before = jobGauges.get(key)?.counts;
      jobUpdates.succeeded += Math.max(0, counts.succeeded - (before?.succeeded ?? 0));
      jobUpdates.failed += Math.max(0, counts.failed - (before?.failed ?? 0));
      jobGauges.set(key, { rollout: rolloutId, wave: String(wave), counts });
    },
    jobCountsOf(rolloutId) {
      const out = new Map<number, WaveInstallCounts>();
      for (const g of jobGauges.values()) if (g.rollout === rolloutId) out.set(Number(g.wave), g.counts);
      return out;
    },
    countRateLimited() {
      rateLimited++;
    },
    countBackup(outcome) {
      backups[outcome]++;
    },
    async render({ rollouts, health }) {
      const out: string[] = [];
      const family = (name: string, type: string, help: string): void => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      };

      const all = await rollouts.listRollouts();
      family('ota_rollouts', 'gauge', 'Rollouts by state.');
      const byStatus = new Map<string, number>();
      for (const r of all) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      for (const [status, n] of byStatus) out.push(`ota_rollouts${labels({ status })} ${n}`);

      family('ota_waves', 'gauge', 'Waves by state, over every rollout.');
      const waveStatus = new Map<string, number>();
      for (const r of all)
        for (const w of await rollouts.waves(r.id)) waveStatus.set(w.status, (waveStatus.get(w.status) ?? 0) + 1);
      for (const [status, n] of waveStatus) out.push(`ota_waves${labels({ status })} ${n}`);

      const fleet = await health.fleetCounts();
      family('ota_devices', 'gauge', 'Devices by the health status of their newest report.');
      for (const [status, n] of Object.entries(fleet.byStatus)) out.push(`ota_devices${labels({ status })} ${n}`);

      const counts = await health.counts();
      family('ota_health_reports_total', 'counter', 'Health reports ingested, by outcome.');
      for (const k of ['stored', 'duplicate', 'older'] as const) {
        out.push(`ota_health_reports_total${labels({ outcome: k })} ${counts[k]}`);
      }
      family('ota_dead_letters_total', 'counter', 'Device messages that could not be processed.');
      out.push(`ota_dead_letters_total ${counts.deadLetters}`);
      family('ota_dead_letters_by_code', 'gauge', 'Dead letters held, by code.');
      for (const [code, n] of Object.entries(fleet.deadLettersByCode))
        out.push(`ota_dead_letters_by_code${labels({ code })} ${n}`);

      family('ota_job_executions', 'gauge', "Executions of each wave's job by state, as last read.");
      for (const { rollout, wave, counts: c } of jobGauges.values()) {
        for (const state of ['queued', 'inProgress', 'succeeded', 'failed'] as const) {
          out.push(`ota_job_executions${labels({ rollout, wave, state })} ${c[state]}`);
        }
      }
      family('ota_job_updates_total', 'counter', 'Job execution outcomes seen by the rollout engine.');
      for (const [outcome, n] of Object.entries(jobUpdates))
        out.push(`ota_job_updates_total${labels({ outcome })} ${n}`);

      family('ota_api_rate_limited_total', 'counter', 'API calls refused with 429.');
      out.push(`ota_api_rate_limited_total ${rateLimited}`);
      family('ota_backups_total', 'counter', 'Database backups taken, by outcome.');
      for (const [outcome, n] of Object.entries(backups)) out.push(`ota_backups_total${labels({ outcome })} ${n}`);

      family('ota_http_request_duration_seconds', 'histogram', 'API request latency by route.');
      for (const { labels: l, h } of requests.values()) {
        LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
          out.push(`ota_http_request_duration_seconds_bucket${labels({ ...l, le: String(le) })} ${h.buckets[i] ?? 0}`);
        });
        out.push(`ota_http_request_duration_seconds_bucket${labels({ ...l, le: '+Inf' })} ${h.count}`);
        out.push(`ota_http_request_duration_seconds_sum${labels(l)} ${h.sum}`);
        out.push(`ota_http_request_duration_seconds_count${labels(l)} ${h.count}`);
      }
      return `${out.join('\n')}\n`;
    },
  };
}

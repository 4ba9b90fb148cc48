import { connectLoadClients } from './load.js';
import { benchThingName } from './names.js';
import { alternate, benchSettings, cpuFields, loadAverage, ratio, settingsFields } from './schedule.js';
import { startBenchServer } from './server.js';

/**
 * A service benchmark: one server child (broker + the service + the bus echo handler), one set of load
 * clients, and four alternating phases against it — `loopback` (the baseline), the service's update,
 * `echo` and `puback` — printed as one JSON line.
 */
export interface ServiceBenchSpec {
  readonly bench: string;
  readonly service: 'shadow' | 'jobs';
  readonly kind: 'shadow-update' | 'job-update';
  /** Targets from the issue, echoed in the JSON line with whether this run met them. */
  readonly minRatioToLoopback: number;
  readonly minUpdatesPerSec?: number;
}

export async function runServiceBench(spec: ServiceBenchSpec): Promise<void> {
  const loadAvgAtStart = loadAverage();
  const settings = benchSettings();
  const server = await startBenchServer({ services: [spec.service, 'echo'], things: settings.clients });
  try {
    const clientIds = Array.from({ length: settings.clients }, (_v, i) => benchThingName(i));
    const load = await connectLoadClients({
      url: `mqtt://127.0.0.1:${server.tcpPort}`,
      clientIds,
      serverPid: server.pid,
    });
    try {
      await load.prepare(['loopback', 'echo', spec.kind]);
      const s = await alternate(
        [
          { name: 'loopback', load, kind: 'loopback' },
          { name: 'updates', load, kind: spec.kind },
          { name: 'echo', load, kind: 'echo' },
          { name: 'puback', load, kind: 'puback' },
        ],
        settings,
      );
      const ratioToLoopback = ratio(s.updates.median, s.loopback.median);
      const targets: Record<string, unknown> = {
        minRatioToLoopback: spec.minRatioToLoopback,
        ratioMet: ratioToLoopback >= spec.minRatioToLoopback,
      };
      if (spec.minUpdatesPerSec !== undefined) {
        targets['minUpdatesPerSec'] = spec.minUpdatesPerSec;
        targets['updatesPerSecMet'] = s.updates.median >= spec.minUpdatesPerSec;
      }
      console.log(
        JSON.stringify({
          bench: spec.bench,
          updatesPerSec: s.updates.median,
          loopbackPerSec: s.loopback.median,
          pubackPerSec: s.puback.median,
          echoPerSec: s.echo.median,
          ratioToLoopback,
          ratioToPuback: ratio(s.updates.median, s.puback.median),
          ratioToEcho: ratio(s.updates.median, s.echo.median),
          ...settingsFields(settings, loadAvgAtStart),
          loadAvgAtEnd: loadAverage(),
          rejected: s.updates.rejected,
          lost: s.updates.lost + s.loopback.lost + s.echo.lost + s.puback.lost,
          runs: {
            updates: s.updates.runs,
            loopback: s.loopback.runs,
            echo: s.echo.runs,
            puback: s.puback.runs,
          },
          cpu: cpuFields(s),
          targets,
        }),
      );
    } finally {
      await load.close();
    }
  } finally {
    await server.stop();
  }
}

import { DescribeJobExecutionCommand, ListJobExecutionsForThingCommand, type IoTClient } from '@aws-sdk/client-iot';
import { parseOtaStatusDetails } from '@otafleet/protocol';
import type { HealthStore } from '../health/types.js';
import type { RolloutStore } from '../store/types.js';

/** One OTA job a device took part in, newest first in the history. */
export interface HistoryEntry {
  readonly jobId: string;
  readonly rolloutId: string | undefined;
  readonly rolloutName: string | undefined;
  /** `install` for a wave's job, `rollback` for a rollout's rollback job, `other` for a job this service did not make. */
  readonly kind: 'install' | 'rollback' | 'other';
  readonly wave: number | undefined;
  readonly status: string;
  readonly reasonCode: string | undefined;
  readonly reason: string | undefined;
  readonly fromVersion: string | undefined;
  readonly toVersion: string | undefined;
  readonly queuedAt: string | undefined;
  readonly startedAt: string | undefined;
  readonly lastUpdatedAt: string | undefined;
  readonly executionNumber: number | undefined;
}

export interface DeviceHistory {
  readonly thingName: string;
  readonly currentVersion: string | undefined;
  /** The device's own account of its last update (from its newest health report). */
  readonly lastUpdate: unknown;
  readonly entries: readonly HistoryEntry[];
  /** True when the device has more jobs than `maxJobs`: the oldest are left out. */
  readonly truncated: boolean;
}

const JOB_ID = /^ota-([a-zA-Z0-9_-]{1,40})-(?:w(\d+)|(rollback))$/;
const PAGE = 100;

/**
 * A device's update history: every job execution AWS IoT has for it (ListJobExecutionsForThing, one page of
 * 100 at a time), each described once for its statusDetails (reason code, versions before and after), joined with
 * the rollout it belongs to and the device's last health report. One device, so a bounded number of calls.
 */
export async function deviceHistory(
  deps: { readonly iot: IoTClient; readonly rollouts: RolloutStore; readonly health: HealthStore },
  thingName: string,
  maxJobs = 200,
): Promise<DeviceHistory> {
  const summaries: {
    jobId: string;
    status: string;
    queuedAt?: Date;
    startedAt?: Date;
    lastUpdatedAt?: Date;
    executionNumber?: number;
  }[] = [];
  let nextToken: string | undefined;
  let truncated = false;
  do {
    const page = await deps.iot.send(
      new ListJobExecutionsForThingCommand({
        thingName,
        maxResults: PAGE,
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
    );
    for (const e of page.executionSummaries ?? []) {
      const s = e.jobExecutionSummary;
      if (e.jobId === undefined) continue;
      summaries.push({
        jobId: e.jobId,
        status: s?.status ?? 'UNKNOWN',
        ...(s?.queuedAt === undefined ? {} : { queuedAt: s.queuedAt }),
        ...(s?.startedAt === undefined ? {} : { startedAt: s.startedAt }),
        ...(s?.lastUpdatedAt === undefined ? {} : { lastUpdatedAt: s.lastUpdatedAt }),
        ...(s?.executionNumber === undefined ? {} : { executionNumber: s.executionNumber }),
      });
    }
    nextToken = page.nextToken;
    if (summaries.length >= maxJobs && nextToken !== undefined) {
      truncated = true;
      break;
    }
  } while (nextToken !== undefined);

  const rolloutNames = new Map<string, string | undefined>();
  const entries = await Promise.all(
    summaries.slice(0, maxJobs).map(async (s): Promise<HistoryEntry> => {
      const described = await deps.iot.send(new DescribeJobExecutionCommand({ jobId: s.jobId, thingName }));
      const parsed = parseOtaStatusDetails(described.execution?.statusDetails?.detailsMap ?? {});
      const details = parsed.ok ? parsed.value : {};
      const m = JOB_ID.exec(s.jobId);
      const rolloutId = m?.[1];
      if (rolloutId !== undefined && !rolloutNames.has(rolloutId))
        rolloutNames.set(rolloutId, (await deps.rollouts.getRollout(rolloutId))?.definition.name);
      const ours = rolloutId !== undefined && rolloutNames.get(rolloutId) !== undefined;
      return {
        jobId: s.jobId,
        rolloutId: ours ? rolloutId : undefined,
        rolloutName: ours && rolloutId !== undefined ? rolloutNames.get(rolloutId) : undefined,
        kind: !ours ? 'other' : m?.[3] === 'rollback' ? 'rollback' : 'install',
        wave: ours && m?.[2] !== undefined ? Number(m[2]) : undefined,
        status: s.status,
        reasonCode: details.reasonCode,
        reason: details.reason,
        fromVersion: details.fromVersion,
        toVersion: details.toVersion,
        queuedAt: s.queuedAt?.toISOString(),
        startedAt: s.startedAt?.toISOString(),
        lastUpdatedAt: s.lastUpdatedAt?.toISOString(),
        executionNumber: s.executionNumber,
      };
    }),
  );
  entries.sort((a, b) => (b.queuedAt ?? '').localeCompare(a.queuedAt ?? ''));
  const health = await deps.health.device(thingName);
  const report = health?.report;
  return {
    thingName,
    currentVersion: report?.firmwareVersion,
    lastUpdate: report !== undefined && report.schemaVersion === 2 ? report.lastUpdate : undefined,
    entries,
    truncated,
  };
}

import {
  HEALTH_REPORT_SCHEMA_VERSION,
  type HealthCheckResult,
  type HealthReportV2,
  type HealthStatus,
} from '@otafleet/protocol';
import type { AgentStatusSource, ApplicationSupervisor, DeviceFacts, HealthCounterSource } from '../contracts.js';
import type { BootIdentity } from './boot-identity.js';

export interface HealthReportInputs {
  readonly device: DeviceFacts;
  readonly boot: BootIdentity;
  readonly status: AgentStatusSource;
  readonly supervisor: Pick<ApplicationSupervisor, 'running'>;
  readonly counters: HealthCounterSource;
  /** When this boot's agent started (epoch ms), for uptime. */
  readonly startedAt: number;
}

/** The device's own view of itself: the application runs, the broker is reachable and the shadow in sync. */
function checksOf(inputs: HealthReportInputs): { status: HealthStatus; checks: HealthCheckResult[] } {
  const app = inputs.supervisor.running();
  const broker = inputs.status.broker();
  const checks: HealthCheckResult[] = [
    app.running
      ? { name: 'application', status: 'healthy' }
      : { name: 'application', status: 'unhealthy', detail: 'the application is not running' },
    broker.connected && broker.shadowSynced
      ? { name: 'broker', status: 'healthy' }
      : { name: 'broker', status: 'degraded', detail: broker.connected ? 'shadow not synced yet' : 'disconnected' },
  ];
  const status: HealthStatus = checks.some((c) => c.status === 'unhealthy')
    ? 'unhealthy'
    : checks.some((c) => c.status === 'degraded')
      ? 'degraded'
      : 'healthy';
  return { status, checks };
}

/** A version 2 health report from the live snapshot; undefined while the running release is not known yet. */
export function buildHealthReport(
  inputs: HealthReportInputs,
  sequence: number,
  now: number,
): HealthReportV2 | undefined {
  const { device, boot, status } = inputs;
  const slots = status.slots();
  if (slots.running === undefined) return undefined;
  const update = status.update();
  const { status: health, checks } = checksOf(inputs);
  return {
    schemaVersion: HEALTH_REPORT_SCHEMA_VERSION,
    thingName: device.thingName,
    bootId: boot.bootId,
    ...(boot.previousBootId === undefined ? {} : { previousBootId: boot.previousBootId }),
    bootCount: boot.bootCount,
    sequence,
    timestamp: now,
    agentVersion: device.agentVersion,
    firmwareVersion: slots.running.version,
    ...(slots.previous === undefined ? {} : { previousFirmwareVersion: slots.previous.version }),
    hardwareType: device.hardwareType,
    activeSlot: slots.activeSlot,
    status: health,
    uptimeSeconds: Math.max(0, Math.floor((now - inputs.startedAt) / 1000)),
    counters: inputs.counters.counters(),
    rollbackCount: update.rollbackCount,
    ...(update.lastUpdate === undefined ? {} : { lastUpdate: update.lastUpdate }),
    checks,
    ...(update.current === undefined
      ? {}
      : {
          ota: {
            jobId: update.current.jobId,
            operation: update.current.operation,
            phase: update.current.phase,
            ...(update.current.progress === undefined
              ? {}
              : { progress: Math.min(100, Math.max(0, Math.round(update.current.progress))) }),
          },
        }),
  };
}

import { REPORTED_STATE_SCHEMA_VERSION, type ReportedState } from '@otafleet/protocol';
import type { AgentStatusSource, DeviceFacts } from '../contracts.js';
import type { BootIdentity } from '../health-report/boot-identity.js';

/**
 * The classic shadow's reported state from the live snapshot, or undefined while the slots are not known yet
 * (the protocol requires the active slot to hold a release). A rollback the device made by itself is in
 * `lastUpdate` (result `rolled-back` with its reason code), so the fleet learns it without asking.
 */
export function buildReportedState(
  device: DeviceFacts,
  boot: BootIdentity,
  status: Pick<AgentStatusSource, 'update' | 'slots'>,
): ReportedState | undefined {
  const slots = status.slots();
  if (slots.running === undefined) return undefined;
  const update = status.update();
  return {
    schemaVersion: REPORTED_STATE_SCHEMA_VERSION,
    firmwareVersion: slots.running.version,
    agentVersion: device.agentVersion,
    hardwareType: device.hardwareType,
    activeSlot: slots.activeSlot,
    slots: { ...slots.slots },
    rollbackCount: update.rollbackCount,
    bootId: boot.bootId,
    bootCount: boot.bootCount,
    ...(update.lastUpdate === undefined ? {} : { lastUpdate: update.lastUpdate }),
  };
}

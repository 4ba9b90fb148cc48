import { TELEMETRY_PREFIX } from '../mqtt/thing-namespace.js';
import { isValidThingName } from '../identifiers.js';

/** A device may publish only under its own telemetry prefix `dt/{thingName}/` (see mqtt/thing-namespace.ts). */

export const telemetryTopicFilter = (thingName: string): string => `${TELEMETRY_PREFIX}/${thingName}/#`;
export const healthReportTopic = (thingName: string): string => `${TELEMETRY_PREFIX}/${thingName}/health`;
/** Shared subscription for fleet-service instances (MQTT 5 `$share`), so each report is handled once. */
export const HEALTH_REPORT_SHARED_FILTER = `$share/fleet-service/${TELEMETRY_PREFIX}/+/health`;

/** Parses `dt/{thing}/health`; undefined for any other topic. */
export function parseHealthReportTopic(topic: string): { thingName: string } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TELEMETRY_PREFIX || parts[2] !== 'health') return undefined;
  const thingName = parts[1];
  if (thingName === undefined || !isValidThingName(thingName)) return undefined;
  return { thingName };
}

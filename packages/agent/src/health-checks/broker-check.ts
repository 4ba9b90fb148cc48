import type { AgentStatusSource } from '../contracts.js';
import { failed, passed, type CheckOutcome } from './check-outcome.js';

/** The agent is connected and its classic shadow synced since the connection came up. */
export function checkBroker(broker: AgentStatusSource['broker']): CheckOutcome {
  const b = broker();
  if (!b.connected) return failed(false, 'not connected to the broker');
  if (!b.shadowSynced) return failed(false, 'connected, but the shadow is not synced yet');
  return passed;
}

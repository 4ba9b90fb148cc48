export {
  markTrialConnectedOnce,
  runningAgentSlot,
  readAgentSlots,
  EXIT_RESTART_INTO_TRIAL,
  type AgentRelease,
  type AgentSlot,
  type AgentSlotState,
} from './agent-slots.js';
export { AgentSlotBackend, type AgentSlotBackendOptions } from './agent-slot-backend.js';

export {
  commitAgentSlotOnceConnected,
  installAgentRelease,
  runningAgentSlot,
  readAgentSlots,
  EXIT_RESTART_INTO_TRIAL,
  type AgentSlot,
  type AgentSlotState,
} from './agent-slots.js';

export type AgentSlot = 'A' | 'B';

export interface AgentSlotTrial {
  readonly slot: AgentSlot;
  readonly attempts: number;
  readonly maxAttempts: number;
}

export interface AgentSlotState {
  readonly schemaVersion: number;
  readonly committed: AgentSlot;
  readonly trial: AgentSlotTrial | null;
  readonly failedTrial: (AgentSlotTrial & { readonly reason: string; readonly at: number }) | null;
}

export const AGENT_SLOTS_FILE: string;
export const AGENT_SLOTS_SCHEMA_VERSION: number;
export const EXIT_RESTART_INTO_TRIAL: number;
export function agentSlotDir(root: string, slot: AgentSlot): string;
export function otherAgentSlot(slot: AgentSlot): AgentSlot;
export function readAgentSlots(root: string): AgentSlotState;
export function writeAgentSlots(root: string, state: AgentSlotState): void;
export function armAgentTrial(root: string, slot: AgentSlot, maxAttempts: number): void;
export function beginAgentStart(
  root: string,
  now?: number,
): { readonly slot: AgentSlot; readonly trial: boolean; readonly fellBack?: AgentSlotState['failedTrial'] };
export function commitAgentTrial(root: string, runningSlot: AgentSlot): boolean;

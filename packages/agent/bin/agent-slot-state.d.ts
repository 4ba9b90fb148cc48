export type AgentSlot = 'A' | 'B';

export interface AgentSlotTrial {
  readonly slot: AgentSlot;
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Epoch ms the agent of this start reached the broker (cleared at each new start). */
  readonly connectedAt?: number;
}

/** A release in an agent slot, from its verified bundle (the slot backends' SlotContents). */
export interface AgentRelease {
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly manifestSha256: string;
}

export interface AgentSlotState {
  readonly schemaVersion: number;
  readonly committed: AgentSlot;
  readonly trial: AgentSlotTrial | null;
  readonly failedTrial:
    (AgentSlotTrial & { readonly reason: 'attempts-exhausted' | 'rolled-back'; readonly at: number }) | null;
  readonly versions: Readonly<Partial<Record<AgentSlot, AgentRelease>>>;
}

export const AGENT_SLOTS_FILE: string;
export const AGENT_SLOTS_SCHEMA_VERSION: number;
export const EXIT_RESTART_INTO_TRIAL: 75;
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
export function recordAgentRelease(root: string, slot: AgentSlot, release: AgentRelease | null): void;
export function markAgentTrialConnected(root: string, runningSlot: AgentSlot, now?: number): boolean;
export function rollBackAgentTrial(root: string, now?: number): boolean;

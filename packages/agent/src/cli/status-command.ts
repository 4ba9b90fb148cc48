import { dataDirHolder } from '@otafleet/runtime';
import pino from 'pino';
import type { AgentConfig } from '../config/schema.js';
import { DirectorySlotBackend, type SlotState } from '../slots/index.js';
import { readJournalView, type JournalView } from './journal-view.js';

export type AgentStatusReport =
  | { readonly source: 'endpoint'; readonly endpoint: string; readonly status: unknown }
  | ({
      readonly source: 'journal';
      readonly agent: { readonly running: boolean; readonly pid?: number; readonly since?: string };
      readonly slots: {
        readonly active: string;
        readonly committed: string;
        readonly trial?: SlotState['trial'];
        readonly failedTrial?: SlotState['failedTrial'];
        readonly versions: Partial<Record<'A' | 'B', { readonly name: string; readonly version: string }>>;
      };
    } & JournalView);

/** The running agent's own answer (GET /status on the local endpoint), when configured and up. */
async function fromEndpoint(port: number): Promise<AgentStatusReport | undefined> {
  const endpoint = `http://127.0.0.1:${port}/status`;
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return undefined;
    return { source: 'endpoint', endpoint, status: await res.json() };
  } catch {
    return undefined;
  }
}

/** `otaagent status`: the local endpoint's answer, else what the journal, the slots and the lock file say. */
export async function agentStatus(config: AgentConfig): Promise<AgentStatusReport> {
  if (config.localEndpointPort !== undefined) {
    const live = await fromEndpoint(config.localEndpointPort);
    if (live !== undefined) return live;
  }
  const holder = dataDirHolder(config.dataDir);
  const s = await new DirectorySlotBackend({
    root: config.slots.root,
    logger: pino({ level: 'silent' }),
    restart: () => undefined,
  }).state();
  const versions: Partial<Record<'A' | 'B', { name: string; version: string }>> = {};
  for (const slot of ['A', 'B'] as const) {
    const c = s.versions[slot];
    if (c !== undefined) versions[slot] = { name: c.name, version: c.version };
  }
  return {
    source: 'journal',
    agent: holder === undefined ? { running: false } : { running: true, pid: holder.pid, since: holder.startedAt },
    slots: {
      active: s.booted,
      committed: s.committed,
      ...(s.trial === undefined ? {} : { trial: s.trial }),
      ...(s.failedTrial === undefined ? {} : { failedTrial: s.failedTrial }),
      versions,
    },
    ...readJournalView(config.dataDir, config.thingName),
  };
}

/** The human lines of a status report. */
export function statusLines(r: AgentStatusReport): string[] {
  if (r.source === 'endpoint') return [`from ${r.endpoint}:`, JSON.stringify(r.status, null, 2)];
  const v = (slot: 'A' | 'B'): string => {
    const c = r.slots.versions[slot];
    return c === undefined ? 'empty' : `${c.name} ${c.version}`;
  };
  const last = r.lastUpdate;
  return [
    `agent: ${r.agent.running ? `running (pid ${r.agent.pid}, since ${r.agent.since})` : 'not running'}`,
    `active slot: ${r.slots.active} (${v(r.slots.active as 'A' | 'B')}), committed: ${r.slots.committed}`,
    `slot A: ${v('A')}; slot B: ${v('B')}`,
    ...(r.slots.trial === undefined ? [] : [`trial: slot ${r.slots.trial.slot} armed, not committed`]),
    `update in progress: ${r.update === undefined ? 'none' : `${r.update.jobId ?? '?'} (${r.update.state})`}`,
    `last update: ${
      last === undefined
        ? 'none'
        : `${last.jobId} ${last.result}${last.reasonCode === undefined ? '' : ` ${last.reasonCode}`}` +
          `${last.reason === undefined ? '' : `: ${last.reason}`} at ${new Date(last.at).toISOString()}`
    }`,
    `rollbacks: ${r.rollbackCount}`,
  ];
}

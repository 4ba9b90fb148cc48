import type { AgentJournal } from '../journal/types.js';
import type { SlotState } from '../slots/index.js';

/**
 * The releases (manifest SHA-256s) that have been committed on this device. An operator rollback to the previous
 * slot goes only to a release on this list: the other slot may hold a release whose trial failed, which must never
 * come back as "the previous release".
 */
const KEY = 'committedReleases';
const MAX = 16;

export async function committedReleases(journal: AgentJournal): Promise<readonly string[]> {
  const raw = await journal.getMeta(KEY);
  if (raw === undefined) return [];
  try {
    const list = JSON.parse(raw) as unknown;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export async function rememberCommitted(journal: AgentJournal, manifestSha256: string): Promise<void> {
  const list = (await committedReleases(journal)).filter((s) => s !== manifestSha256);
  await journal.setMeta(KEY, JSON.stringify([...list, manifestSha256].slice(-MAX)));
}

/** The committed slot's release counts as committed (the factory release, or one from before this list existed). */
export async function rememberCommittedSlot(journal: AgentJournal, slots: SlotState): Promise<void> {
  const sha = slots.versions[slots.committed]?.manifestSha256;
  if (sha !== undefined && !(await committedReleases(journal)).includes(sha)) await rememberCommitted(journal, sha);
}

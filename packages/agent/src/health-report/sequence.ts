import type { AgentJournal } from '../journal/types.js';

const META_SEQUENCE = 'healthReport.sequence';

/**
 * The next report's sequence within `bootId`, journaled as taken before it is used: a crash after taking a number
 * skips it, never repeats it. A new bootId starts again from 0.
 */
export async function takeSequence(
  journal: Pick<AgentJournal, 'getMeta' | 'setMeta'>,
  bootId: string,
): Promise<number> {
  let next = 0;
  const text = await journal.getMeta(META_SEQUENCE);
  if (text !== undefined) {
    try {
      const stored = JSON.parse(text) as { bootId?: unknown; next?: unknown };
      if (stored.bootId === bootId && typeof stored.next === 'number' && Number.isSafeInteger(stored.next))
        next = stored.next;
    } catch {
      // an unreadable value starts the boot again from 0, as a new boot would
    }
  }
  await journal.setMeta(META_SEQUENCE, JSON.stringify({ bootId, next: next + 1 }));
  return next;
}

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AgentJournal } from '../journal/types.js';

/** Which boot this is, as the health report and the reported state carry it. */
export interface BootIdentity {
  readonly bootId: string;
  readonly previousBootId?: string;
  readonly bootCount: number;
}

export const KERNEL_BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
const META_BOOT = 'boot';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The kernel's id of this boot, when it is readable and looks like one. */
async function kernelBootId(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim().toLowerCase();
    return UUID.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

function decode(text: string | undefined): BootIdentity | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<BootIdentity>;
    if (typeof v.bootId !== 'string' || !UUID.test(v.bootId)) return undefined;
    if (typeof v.bootCount !== 'number' || !Number.isSafeInteger(v.bootCount) || v.bootCount < 1) return undefined;
    const previous = typeof v.previousBootId === 'string' && UUID.test(v.previousBootId) ? v.previousBootId : undefined;
    return {
      bootId: v.bootId,
      bootCount: v.bootCount,
      ...(previous === undefined ? {} : { previousBootId: previous }),
    };
  } catch {
    return undefined;
  }
}

/**
 * Resolves this boot's identity and journals it before anything reports it: the kernel's boot id when readable
 * (an agent restarted within one boot keeps its bootId, count and sequence), else a random id for this start.
 * A new bootId counts one more boot and remembers the one before it.
 */
export async function resolveBootIdentity(
  journal: Pick<AgentJournal, 'getMeta' | 'setMeta'>,
  options: { readonly kernelBootIdPath?: string } = {},
): Promise<BootIdentity> {
  const current = (await kernelBootId(options.kernelBootIdPath ?? KERNEL_BOOT_ID_PATH)) ?? randomUUID();
  const stored = decode(await journal.getMeta(META_BOOT));
  if (stored?.bootId === current) return stored;
  const next: BootIdentity = {
    bootId: current,
    bootCount: (stored?.bootCount ?? 0) + 1,
    ...(stored === undefined ? {} : { previousBootId: stored.bootId }),
  };
  await journal.setMeta(META_BOOT, JSON.stringify(next));
  return next;
}

import type { IoTClient } from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import { addToWaveGroup, ensureWaveGroup } from './wave-jobs.js';

/**
 * Fills the next wave's thing group in the background while the current wave installs and soaks, so that once the
 * gate passes only CreateJob stands between the gate and the next wave's devices (adding 2,500 members one call
 * each takes seconds). Nothing is journaled: a group with members and no job targets nothing, and every call is
 * idempotent, so after a restart the engine simply stages again (a member added twice is a no-op).
 */
export interface WaveStaging {
  /** Starts filling `wave`'s group with `devices` unless that is under way or done; never throws (logs). */
  stage(rolloutId: string, wave: number, devices: () => Promise<readonly string[]>): void;
  /**
   * The devices staging put in the group (after waiting for staging under way), or undefined if it never ran or
   * failed: the caller adds the rest itself.
   */
  staged(rolloutId: string, wave: number): Promise<ReadonlySet<string> | undefined>;
  /** The wave's group is known to hold all of `devices` (deploying it again adds only newcomers). */
  filled(rolloutId: string, wave: number, devices: readonly string[]): void;
  /** Waits for staging under way (tests, shutdown). */
  settle(): Promise<void>;
}

export function createWaveStaging(iot: IoTClient, logger: Logger): WaveStaging {
  const runs = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  // One group fills at a time (in the order asked: the next wave first), so staging stays in the background.
  let tail: Promise<unknown> = Promise.resolve();
  const key = (rolloutId: string, wave: number): string => `${rolloutId}\u0000${wave}`;
  return {
    stage(rolloutId, wave, devices) {
      const k = key(rolloutId, wave);
      if (runs.has(k)) return;
      const run = tail
        .then(async () => {
          const started = Date.now();
          const names = await devices();
          await ensureWaveGroup(iot, rolloutId, wave);
          await addToWaveGroup(iot, rolloutId, wave, names);
          logger.info({ rolloutId, wave, devices: names.length, ms: Date.now() - started }, 'next wave staged');
          return new Set(names);
        })
        .catch((e: unknown) => {
          // Not fatal: deploying the wave adds whatever is missing. Forget the run so a later tick stages again.
          logger.warn({ err: e, rolloutId, wave }, 'staging the next wave failed; it will be filled when deployed');
          runs.delete(k);
          return undefined;
        });
      runs.set(k, run);
      tail = run;
    },
    async staged(rolloutId, wave) {
      return runs.get(key(rolloutId, wave));
    },
    filled(rolloutId, wave, devices) {
      runs.set(key(rolloutId, wave), Promise.resolve(new Set(devices)));
    },
    async settle() {
      await Promise.all(runs.values());
    },
  };
}

import type { StepHook } from './update/ports.js';

/** The test-only environment variable naming the step at which the agent kills itself with SIGKILL. */
export const CRASH_AT_ENV = 'OTA_AGENT_CRASH_AT';

/**
 * The crash hook of the real process: at the step named by OTA_AGENT_CRASH_AT (after its journal write, before its
 * action) the process sends itself SIGKILL, as a power cut would stop it: no cleanup, no flush. `onReached` runs
 * just before (a log line the tests wait for is not needed: the exit by SIGKILL says it).
 */
export function crashHookFromEnv(env: NodeJS.ProcessEnv, onReached?: (step: string) => void): StepHook | undefined {
  const target = env[CRASH_AT_ENV];
  if (target === undefined || target === '') return undefined;
  return (step) => {
    if (step !== target) return;
    onReached?.(step);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is delivered asynchronously; never let the action run meanwhile.
    return new Promise<void>(() => undefined);
  };
}

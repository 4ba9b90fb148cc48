/** Runs a preset scenario end to end for the CI scenario tests (the real stack, the real agent in every device). */
import { pino } from 'pino';
import { loadScenario, planScenario, runScenario, type ScenarioOverrides, type SimReport } from '@otafleet/simulator';

const quiet = pino({ level: process.env['SIM_TEST_LOG'] ?? 'error' });

export async function runPreset(name: string, overrides: ScenarioOverrides = {}): Promise<SimReport> {
  const loaded = await loadScenario(name);
  if (!loaded.ok) throw loaded.error;
  return runScenario({ plan: planScenario(loaded.value.scenario, overrides), logger: quiet, pollMs: 300 });
}

/** The failed checks in words, for an assertion message that says what went wrong. */
export const failedChecks = (r: SimReport): string =>
  r.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`)
    .join('; ');

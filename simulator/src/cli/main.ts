import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { renderReport } from '../report/table.js';
import { RunSetupError, runScenario } from '../run/run-scenario.js';
import { planScenario } from '../scenario/expand.js';
import { loadScenario, presetNames } from '../scenario/presets.js';
import { parseCommand, SIM_HELP, UsageError } from './args.js';
import { progressPrinter, stdoutOutput } from './progress.js';

/** `pnpm sim -- run SCENARIO ...`: 0 the expected outcome held, 1 it did not, 2 a bad scenario or setup. */
async function main(argv: readonly string[]): Promise<number> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const out = stdoutOutput();
  const help = SIM_HELP.replace('{presets}', presetNames().join(', '));
  let command;
  try {
    command = parseCommand(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${help}\n`);
      return 2;
    }
    throw e;
  }
  const loaded = await loadScenario(command.scenario, process.env['INIT_CWD'] ?? process.cwd());
  if (!loaded.ok) {
    process.stderr.write(`${loaded.error.message}\n`);
    return 2;
  }
  const plan = planScenario(loaded.value.scenario, {
    ...(command.devices === undefined ? {} : { devices: command.devices }),
    ...(command.seed === undefined ? {} : { seed: command.seed }),
  });
  const logger = pino({ level: command.logLevel, base: { name: 'ota-sim' } }, pino.destination(2));
  const stop = new AbortController();
  const onSignal = (signal: string): void => {
    if (stop.signal.aborted) return;
    process.stderr.write(`${signal}: stopping the fleet and the stack\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = progressPrinter(out);
  out.write(
    `scenario ${plan.scenario.name} (${loaded.value.file}): ${plan.devices.length} devices, seed ${plan.seed}\n`,
  );
  try {
    const report = await runScenario({
      plan,
      logger,
      ...(command.workers === undefined ? {} : { workers: command.workers }),
      keepData: command.keepData,
      enrolment: command.enrolment,
      bundleVerification: command.bundleVerification,
      onProgress: (p) => progress.update(p),
      signal: stop.signal,
    });
    progress.done();
    out.write(`\n${renderReport(report)}\n`);
    if (command.report !== undefined) {
      const file = resolve(process.env['INIT_CWD'] ?? process.cwd(), command.report);
      await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
      out.write(`report: ${file}\n`);
    }
    if (stop.signal.aborted) return 0;
    return report.passed ? 0 : 1;
  } catch (e) {
    progress.done();
    const setup = e instanceof RunSetupError;
    process.stderr.write(
      `${setup ? 'setup failed' : 'the run failed'}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // The run has closed what it started; anything still holding the event loop (a part that did not close in
    // time, logged) must not keep the command from ending with its verdict.
    process.stdout.write('', () => process.exit(code));
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);

import { parseArgs } from 'node:util';
import { configOrExit } from './load-config.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { createOutput, type Output } from './output.js';

const USAGE = `usage: otaagent <command> [--json]
  run --config FILE        run the agent until SIGTERM (exit 0 once the update in flight is journaled)
  status --config FILE     what runs, from which slot, the last update and why
  rollback --config FILE   put the other slot's (previously committed) release back; the agent must be stopped
  config check FILE        validate a configuration file; every bad field is named
exit codes: 0 ok, 1 failure, 2 usage or bad configuration, 75 (run under the self-update launcher) start the other agent`;

const usage = (message: string): CliError => new CliError('USAGE', message, EXIT.usage, USAGE.split('\n'));

async function dispatch(argv: readonly string[], out: Output): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    });
  } catch (e) {
    throw usage(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const [command, sub, file, ...extra] = positionals;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const configPath = (): string => {
    if (values.config === undefined) throw usage(`${command} needs --config FILE`);
    return values.config;
  };
  switch (command) {
    case 'run': {
      const { runAgentProcess } = await import('./run-command.js');
      return runAgentProcess(configPath());
    }
    case 'status': {
      const { agentStatus, statusLines } = await import('./status-command.js');
      const report = await agentStatus(await configOrExit(configPath()));
      out.result(report, statusLines(report));
      return EXIT.ok;
    }
    case 'rollback': {
      const { localRollback } = await import('./rollback-command.js');
      const r = await localRollback(await configOrExit(configPath()));
      out.result(r, [
        `rolled back from slot ${r.fromSlot} (${r.fromVersion ?? '?'}) to slot ${r.toSlot} (${r.toVersion}); journaled as ${r.jobId}`,
        'start the agent to run it: systemctl start otaagent',
      ]);
      return EXIT.ok;
    }
    case 'config': {
      if (sub !== 'check' || file === undefined || extra.length > 0) throw usage('use: otaagent config check FILE');
      const config = await configOrExit(file);
      out.result({ ok: true, file, thingName: config.thingName }, [`${file}: ok (thing ${config.thingName})`]);
      return EXIT.ok;
    }
    case undefined:
      throw usage('no command given');
    default:
      throw usage(`unknown command ${JSON.stringify(command)}`);
  }
}

/** `otaagent`: exit 0 ok, 1 failure, 2 usage or bad configuration (see exit-codes.ts). */
export async function otaagent(argv: readonly string[]): Promise<ExitCode> {
  const out = createOutput(argv.includes('--json'));
  try {
    return await dispatch(argv, out);
  } catch (e) {
    return out.failure(e);
  }
}

otaagent(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`otaagent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(EXIT.failure);
  },
);

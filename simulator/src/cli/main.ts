import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { importPrivateKey, keyAlgorithm } from '@otafleet/bundle';
import { pino } from 'pino';
import { renderReport } from '../report/table.js';
import { RunSetupError, runScenario, type RunOptions } from '../run/run-scenario.js';
import { planScenario } from '../scenario/expand.js';
import { loadScenario, presetNames } from '../scenario/presets.js';
import { parseCommand, SIM_HELP, UsageError, type RunningStackArgs } from './args.js';
import { progressPrinter, stdoutOutput } from './progress.js';

/** Reads what --fleet-api and its flags name: the token, the CA, the release key. A bad file is a usage error. */
async function runningStackOf(a: RunningStackArgs, cwd: string): Promise<NonNullable<RunOptions['running']>> {
  const read = async (flag: string, file: string): Promise<string> => {
    try {
      return await readFile(resolve(cwd, file), 'utf8');
    } catch (e) {
      throw new UsageError(`--${flag} ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const token = process.env['OTA_FLEET_TOKEN'] ?? (await read('token-file', a.tokenFile)).trim();
  if (token === '') throw new UsageError(`the fleet token is empty (OTA_FLEET_TOKEN or --token-file ${a.tokenFile})`);
  let privateKey;
  try {
    privateKey = importPrivateKey(await read('signing-key', a.signingKeyFile));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--signing-key ${a.signingKeyFile}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const algorithm = keyAlgorithm(privateKey);
  if (algorithm === null)
    throw new UsageError(`--signing-key ${a.signingKeyFile}: not an ed25519 or ECDSA P-256 private key`);
  const keyId = a.keyId ?? basename(a.signingKeyFile).replace(/\.key\.pem$|\.pem$/, '');
  return {
    fleetApi: a.fleetApi,
    token,
    mqttUrl: a.mqttUrl,
    ...(a.caFile === undefined ? {} : { ca: await read('ca', a.caFile) }),
    ...(a.iotEndpoint === undefined ? {} : { iotEndpoint: a.iotEndpoint }),
    region: a.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
    signer: { keyId, algorithm, privateKey },
    namespace: a.namespace ?? `sim${Math.floor(Date.now() / 1000).toString(36)}`,
  };
}

/** `pnpm sim -- run SCENARIO ...`: 0 the expected outcome held, 1 it did not, 2 a bad scenario or setup. */
async function main(argv: readonly string[]): Promise<number> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const out = stdoutOutput();
  const help = SIM_HELP.replace('{presets}', presetNames().join(', '));
  const cwd = process.env['INIT_CWD'] ?? process.cwd();
  let command;
  let running;
  try {
    command = parseCommand(argv);
    running = command.running === undefined ? undefined : await runningStackOf(command.running, cwd);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${help}\n`);
      return 2;
    }
    throw e;
  }
  const loaded = await loadScenario(command.scenario, cwd);
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
  if (running !== undefined)
    out.write(
      `on the running stack ${running.fleetApi} (devices on ${running.mqttUrl}), namespace ${running.namespace}: ` +
        'its things and groups stay enrolled there after the run\n',
    );
  try {
    const report = await runScenario({
      plan,
      logger,
      ...(command.workers === undefined ? {} : { workers: command.workers }),
      keepData: command.keepData,
      enrolment: command.enrolment,
      bundleVerification: command.bundleVerification,
      ...(running === undefined ? {} : { running }),
      onProgress: (p) => progress.update(p),
      signal: stop.signal,
    });
    progress.done();
    out.write(`\n${renderReport(report)}\n`);
    if (command.report !== undefined) {
      const file = resolve(cwd, command.report);
      await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
      out.write(`report: ${file}\n`);
    }
    if (stop.signal.aborted) return 0;
    return report.passed ? 0 : 1;
  } catch (e) {
    progress.done();
    // A setup failure says what to fix; anything else is a fault of the simulator, shown with its stack.
    if (e instanceof RunSetupError) process.stderr.write(`setup failed: ${e.message}\n`);
    else process.stderr.write(`the run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
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

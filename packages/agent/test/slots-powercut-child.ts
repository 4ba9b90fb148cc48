/**
 * Runs one directory-slot operation in its own process, so a test can SIGKILL it at a chosen step.
 * Usage: node --conditions=source --import tsx slots-powercut-child.ts <root> <operation> <killStep> [source]
 * Prints `READY` before the operation, `STEP <name>` at each step, `PAUSED` (then hangs) at <killStep>,
 * `DONE` when the operation finished.
 */
import { DirectorySlotBackend } from '../src/slots/index.js';
import { release, silentLogger } from './slots-harness.js';

const [root, operation, killStep, source] = process.argv.slice(2);
if (root === undefined || operation === undefined || killStep === undefined) {
  throw new Error('usage: slots-powercut-child.ts <root> <operation> <killStep> [source]');
}
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const backend = new DirectorySlotBackend({
  root,
  logger: silentLogger,
  restart: () => say('RESTART'),
  onStep: async (step) => {
    say(`STEP ${step}`);
    if (step !== killStep) return;
    say('PAUSED');
    // Hold the process here until the test kills it (the interval keeps the event loop alive).
    setInterval(() => undefined, 60_000);
    await new Promise<never>(() => undefined);
  },
});

say('READY');
switch (operation) {
  case 'install':
    if (source === undefined) throw new Error('install needs a source directory');
    await backend.install('B', { kind: 'directory', path: source }, release('2.0.0'));
    break;
  case 'arm':
    await backend.armTrial('B', 2);
    break;
  case 'activate':
    await backend.activate();
    break;
  case 'boot':
    await backend.recordBootAttempt();
    break;
  case 'commit':
    await backend.commit();
    break;
  case 'rollback':
    await backend.rollback();
    await backend.activate();
    break;
  default:
    throw new Error(`unknown operation ${operation}`);
}
say('DONE');

import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DirectorySlotBackend,
  directorySlotLayout,
  isTrialRunning,
  provisionDirectorySlots,
  type SlotState,
} from '../src/slots/index.js';
import { release, silentLogger, tempDir, treeFingerprint, writeAppTree } from './slots-harness.js';

/**
 * Power cuts, simulated by SIGKILL of a child process that performs a directory-slot operation and is
 * paused at each of its steps in turn (plus kills at random moments). Whatever the step, the next start
 * must read a consistent device: `current` at a complete slot, recorded contents matching the trees on
 * disk, the committed slot untouched, and the update able to run to its end.
 * (SIGKILL keeps what the kernel has already accepted; the fsyncs that make the same order hold across a
 * real power loss are in the code, not provable here.)
 */
const CHILD = fileURLToPath(new URL('./slots-powercut-child.ts', import.meta.url));
const FACTORY = release('1.0.0');
const OLD = release('1.5.0');
const NEW = release('2.0.0');
const NEW_FILES = 80; // enough files that a random kill can land inside the install

type Operation = 'install' | 'arm' | 'activate' | 'boot' | 'commit' | 'rollback';

interface Device {
  readonly root: string;
  readonly dir: string;
  backend(): DirectorySlotBackend;
  newSource(): Promise<string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const expected = new Map<string, string>(); // version → fingerprint of its complete tree

async function fingerprintOf(contents: typeof FACTORY, files?: number): Promise<string> {
  const tmp = await tempDir('slots-ref-');
  cleanups.push(tmp.remove);
  await writeAppTree(tmp.path, contents, files);
  return treeFingerprint(tmp.path);
}

let sources = 0;
/** A provisioned device brought to the state the operation starts from. */
async function device(operation: Operation): Promise<Device> {
  const tmp = await tempDir('slots-cut-');
  cleanups.push(tmp.remove);
  const root = join(tmp.path, 'device');
  const factoryTree = join(tmp.path, 'factory');
  await writeAppTree(factoryTree, FACTORY);
  await provisionDirectorySlots({
    root,
    logger: silentLogger,
    factory: { source: { kind: 'directory', path: factoryTree }, contents: FACTORY },
  });
  const backend = () => new DirectorySlotBackend({ root, logger: silentLogger, restart: () => undefined });
  const newSource = async () => {
    const path = join(tmp.path, `new-${++sources}`);
    await writeAppTree(path, NEW, NEW_FILES);
    return path;
  };
  const b = backend();
  if (operation === 'install') {
    const old = join(tmp.path, 'old');
    await writeAppTree(old, OLD);
    await b.install('B', { kind: 'directory', path: old }, OLD); // B holds a release: the install must replace it
  } else {
    await b.install('B', { kind: 'directory', path: await newSource() }, NEW);
    if (operation !== 'arm') await b.armTrial('B', operation === 'boot' ? 1 : 2);
    if (operation === 'boot' || operation === 'commit' || operation === 'rollback') await b.activate();
  }
  return { root, dir: tmp.path, backend, newSource };
}

interface ChildRun {
  readonly steps: string[];
  readonly done: boolean;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the operation in a child; SIGKILLs it at `killStep`, or `afterMs` after READY; else lets it finish. */
function runChild(d: Device, operation: Operation, killStep: string, source = '', afterMs?: number): Promise<ChildRun> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', CHILD, d.root, operation, killStep, source],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child ${operation}/${killStep} hung:\n${out}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('PAUSED\n')) child.kill('SIGKILL');
      if (afterMs !== undefined && out.includes('READY\n') && child.exitCode === null) {
        const at = afterMs;
        afterMs = undefined;
        setTimeout(() => child.kill('SIGKILL'), at);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`child ${operation} exited with ${code}:\n${out}`));
      const lines = out.split('\n');
      resolve({
        steps: lines.filter((l) => l.startsWith('STEP ')).map((l) => l.slice(5)),
        done: lines.includes('DONE'),
        signal,
      });
    });
  });
}

/** What must hold after any cut, read by a fresh agent start. */
async function assertConsistent(d: Device): Promise<SlotState> {
  const state = await d.backend().recordBootAttempt();
  const layout = directorySlotLayout(d.root);
  expect(await readlink(layout.current)).toBe(layout.linkTarget(state.booted));
  for (const slot of ['A', 'B'] as const) {
    const recorded = state.versions[slot];
    if (recorded)
      expect(await treeFingerprint(layout.slotDir(slot)), `slot ${slot}`).toBe(expected.get(recorded.version));
  }
  expect(state.versions.A).toEqual(FACTORY);
  const booted = state.versions[state.booted];
  expect(booted, 'current points at a slot with a complete, recorded release').toBeDefined();
  return state;
}

/** From any consistent state, the update runs to a committed NEW in slot B. */
async function finish(d: Device, state: SlotState): Promise<void> {
  const b = d.backend();
  if (state.versions.B?.version !== NEW.version) {
    await b.install('B', { kind: 'directory', path: await d.newSource() }, NEW);
  }
  let s = await b.state();
  if (s.committed !== 'B') {
    if (s.trial === undefined) s = await b.armTrial('B', 2);
    if (!isTrialRunning(s)) {
      await b.activate();
      s = await b.state();
    }
    expect(isTrialRunning(s)).toBe(true);
    s = await b.commit();
  }
  expect(s).toMatchObject({ booted: 'B', committed: 'B', trial: undefined, versions: { A: FACTORY, B: NEW } });
  expect(await treeFingerprint(directorySlotLayout(d.root).slotDir('B'))).toBe(expected.get(NEW.version));
}

describe('directory slots under SIGKILL at every step', () => {
  const OPERATIONS: readonly Operation[] = ['install', 'arm', 'activate', 'boot', 'commit', 'rollback'];

  it.each(OPERATIONS)(
    '%s: killed at each of its steps, the device stays consistent and recovers',
    async (operation) => {
      expected.set(FACTORY.version, await fingerprintOf(FACTORY));
      expected.set(OLD.version, await fingerprintOf(OLD));
      expected.set(NEW.version, await fingerprintOf(NEW, NEW_FILES));

      // First a run to the end, which names the steps (so a new step is covered without editing this test).
      const full = await device(operation);
      const run = await runChild(full, operation, 'none', operation === 'install' ? await full.newSource() : '');
      expect(run.done).toBe(true);
      expect(run.steps.length).toBeGreaterThan(0);
      await assertConsistent(full);

      for (const step of run.steps) {
        const d = await device(operation);
        const before = await d.backend().state();
        const cut = await runChild(d, operation, step, operation === 'install' ? await d.newSource() : '');
        expect(cut.signal, `killed at ${step}`).toBe('SIGKILL');
        expect(cut.done).toBe(false);
        const after = await assertConsistent(d);
        if (operation === 'commit') expect(after.committed === 'B' || isTrialRunning(after)).toBe(true);
        if (operation === 'rollback') expect(after.committed).toBe('A');
        if (operation === 'install') expect([undefined, OLD.version, NEW.version]).toContain(after.versions.B?.version);
        expect(before.committed).toBe('A');
        await finish(d, after);
      }
    },
    240_000,
  );

  it('install: killed at random moments, never leaves a half-written slot recorded', async () => {
    expected.set(FACTORY.version, await fingerprintOf(FACTORY));
    expected.set(OLD.version, await fingerprintOf(OLD));
    expected.set(NEW.version, await fingerprintOf(NEW, NEW_FILES));
    for (const delay of [0, 5, 10, 20, 40, 80]) {
      const d = await device('install');
      await runChild(d, 'install', 'none', await d.newSource(), delay);
      const after = await assertConsistent(d);
      expect([undefined, OLD.version, NEW.version]).toContain(after.versions.B?.version);
      await finish(d, after);
    }
  }, 240_000);
});

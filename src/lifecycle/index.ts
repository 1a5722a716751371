// Process lifecycle: the one place that handles SIGINT/SIGTERM, runs cleanups and picks the exit
// code of an interrupted run, so nothing pgdrill starts (sandboxes, temp folders with plaintext,
// uploads, pg_dump) outlives it.
//
// - `interruptSignal()`: an AbortSignal that the first SIGINT/SIGTERM aborts with an
//   InterruptedError. Commands pass it to their work, which stops, cleans up what it made and
//   rethrows, so the command exits with the error's code (130 / 143). If the command has not
//   ended `INTERRUPT_GRACE_MS` after the signal, the registered cleanups run and the process exits.
// - `registerCleanup()`: things that must not survive the process (a sandbox, a temp folder). On a
//   signal without an abortable command, cleanups run at once and the process exits with the
//   signal's code; at `exit` (any cause) the synchronous versions remove what is still registered.
// - A second signal exits at once (the `exit` hook still runs the synchronous cleanups).
// Handlers are installed only while something is registered or a command listens, so an idle
// process keeps Node's default signal behaviour.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ExitCode, InterruptedError } from '../errors/index.ts';

export interface Cleanup {
  /** What it is, counted in messages: `sandbox(es)`, `temp folder(s)`. */
  readonly kind: string;
  /** For messages: e.g. `embedded sandbox /tmp/pgdrill-sandbox-abc`. */
  readonly label: string;
  /** Full, idempotent cleanup. */
  run(): Promise<void>;
  /** Blocking last resort for the process `exit` event; must not throw. */
  runSync(): void;
  /**
   * What to remove if this process is killed outright (SIGKILL, power loss) before its cleanup
   * runs: recorded in the leftovers folder while registered, swept by the next run (sweepLeftovers).
   */
  leftover?: Leftover;
}

/** Something a killed process leaves behind, as the next run finds and removes it. */
export interface Leftover {
  /** A child process to kill, if it still runs that program (`/proc/<pid>/cmdline` contains it). */
  process?: { pid: number; program: string };
  /** A PostgreSQL data directory to stop (`pg_ctl stop -m immediate`) with the pg_ctl given. */
  postgres?: { pgCtl: string; dataDir: string; user?: { uid: number; gid: number } };
  /** A container to remove. */
  container?: string;
  /** Folders to delete. */
  folders?: string[];
}

export type HandledSignal = 'SIGINT' | 'SIGTERM';

/** How long an aborted command may take to unwind before the cleanups run and the process exits. */
export const INTERRUPT_GRACE_MS = 15_000;
/** How long signal-triggered cleanups may take before the process exits anyway. */
const CLEANUP_TIMEOUT_MS = 60_000;

/**
 * The lifecycle's state lives on globalThis, one per process: the bundled CLI and the built modules
 * a drill's vitest setup loads may be two copies of this module in one process, and a sandbox one
 * registers must be cleaned up (and recorded as a leftover) by the other's signal handler.
 */
interface LifecycleState {
  readonly cleanups: Set<Cleanup>;
  /** Where leftover records go (setLeftoverFolder); none by default. */
  leftoverFolder: string | undefined;
  leftoverCount: number;
  controller: AbortController | undefined;
  interruptGraceMs: number;
  /** The signal and exit handlers installed, whichever copy installed them. */
  installed: { sigint: () => void; sigterm: () => void; exit: () => void } | undefined;
  interrupted: boolean;
  /** Runs that asked for exit-on-signal without an abortable command (exitOnSignal). */
  exitOnSignalRuns: number;
}
const STATE_KEY = Symbol.for('pgdrill.lifecycle');
const state: LifecycleState = ((globalThis as unknown as Record<symbol, LifecycleState | undefined>)[STATE_KEY] ??= {
  cleanups: new Set<Cleanup>(),
  leftoverFolder: undefined,
  leftoverCount: 0,
  controller: undefined,
  interruptGraceMs: INTERRUPT_GRACE_MS,
  installed: undefined,
  interrupted: false,
  exitOnSignalRuns: 0,
});
const { cleanups } = state;

/** 130 for SIGINT, 143 for SIGTERM (128 + signal number), as shells report them. */
export function signalExitCode(signal: HandledSignal): number {
  return signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
}

/** Runs every registered cleanup (in parallel) and unregisters them; reports failures by label. */
export async function runCleanups(): Promise<string[]> {
  const pending = [...cleanups];
  const results = await Promise.allSettled(pending.map((cleanup) => cleanup.run()));
  const failures: string[] = [];
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      failures.push(`${pending[index]!.label}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
    }
  });
  for (const cleanup of pending) cleanups.delete(cleanup);
  sync();
  return failures;
}

function finish(signal: HandledSignal): void {
  const code = signalExitCode(signal);
  const timer = setTimeout(() => {
    console.error(`pgdrill: cleanup took longer than ${CLEANUP_TIMEOUT_MS / 1000} s, exiting anyway`);
    process.exit(code);
  }, CLEANUP_TIMEOUT_MS);
  timer.unref();
  runCleanups()
    .then((failures) => {
      for (const failure of failures) console.error(`pgdrill: could not clean up ${failure}`);
    })
    .finally(() => process.exit(code));
}

function onSignal(signal: HandledSignal): void {
  if (state.interrupted) process.exit(signalExitCode(signal));
  state.interrupted = true;
  const { controller } = state;
  if (controller && !controller.signal.aborted) {
    process.stderr.write(`\npgdrill: ${signal} received, cleaning up (again to force)\n`);
    controller.abort(new InterruptedError(signal, { hint: 'Nothing was published by the interrupted run' }));
    // The command unwinds and exits with the error's code; this only fires if something hangs.
    setTimeout(() => finish(signal), state.interruptGraceMs).unref();
    return;
  }
  const counts = new Map<string, number>();
  for (const cleanup of cleanups) counts.set(cleanup.kind, (counts.get(cleanup.kind) ?? 0) + 1);
  const what = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'nothing';
  process.stderr.write(`\npgdrill: ${signal} received, stopping ${what} before exiting (again to force)\n`);
  finish(signal);
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function onExit(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup.runSync();
    } catch {
      // last resort while exiting: nothing more can be done
    }
  }
  cleanups.clear();
}

function sync(): void {
  const want = cleanups.size > 0 || state.controller !== undefined || state.exitOnSignalRuns > 0;
  if (want && !state.installed) {
    const handlers = { sigint: onSigint, sigterm: onSigterm, exit: onExit };
    process.on('SIGINT', handlers.sigint);
    process.on('SIGTERM', handlers.sigterm);
    process.on('exit', handlers.exit);
    state.installed = handlers;
  } else if (!want && state.installed) {
    process.off('SIGINT', state.installed.sigint);
    process.off('SIGTERM', state.installed.sigterm);
    process.off('exit', state.installed.exit);
    state.installed = undefined;
  }
}

/** Registers something to remove on exit or signal; returns the function that unregisters it. */
export function registerCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  sync();
  const record = recordLeftover(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (record) rmSync(record, { force: true });
    sync();
  };
}

/**
 * Records what each registered cleanup would remove in `folder` (a long-running service sets it:
 * after a SIGKILL, its next start calls sweepLeftovers on the same folder).
 */
export function setLeftoverFolder(folder: string | undefined): void {
  state.leftoverFolder = folder;
  if (folder) mkdirSync(folder, { recursive: true, mode: 0o700 });
}

function recordLeftover(cleanup: Cleanup): string | undefined {
  if (!state.leftoverFolder || !cleanup.leftover) return undefined;
  const file = path.join(state.leftoverFolder, `${process.pid}-${++state.leftoverCount}.json`);
  writeFileSync(file, JSON.stringify({ ownerPid: process.pid, label: cleanup.label, ...cleanup.leftover }), { mode: 0o600 });
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what processes that died without cleaning up left behind (records in `folder` whose
 * owner no longer runs): kills their still-running child programs, stops their PostgreSQL
 * servers, removes their containers and folders. Returns the labels of what it removed.
 */
export function sweepLeftovers(folder: string): string[] {
  const swept: string[] = [];
  let files: string[];
  try {
    files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  } catch {
    return swept;
  }
  for (const file of files) {
    const full = path.join(folder, file);
    let record: Leftover & { ownerPid: number; label: string };
    try {
      record = JSON.parse(readFileSync(full, 'utf8')) as Leftover & { ownerPid: number; label: string };
    } catch {
      rmSync(full, { force: true });
      continue;
    }
    if (record.ownerPid === process.pid || alive(record.ownerPid)) continue;
    const proc = record.process;
    if (proc && alive(proc.pid)) {
      // A recycled pid runs something else: only the recorded program is killed.
      const cmdline = (() => {
        try {
          return readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      })();
      if (cmdline.includes(proc.program)) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    if (record.postgres) {
      const { pgCtl, dataDir, user } = record.postgres;
      spawnSync(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'], { stdio: 'ignore', timeout: 20_000, ...(user ?? {}) });
    }
    if (record.container) spawnSync('docker', ['rm', '-f', '-v', record.container], { stdio: 'ignore', timeout: 20_000 });
    for (const dir of record.folders ?? []) rmSync(dir, { recursive: true, force: true });
    rmSync(full, { force: true });
    swept.push(record.label);
  }
  return swept;
}

/**
 * The process's interrupt signal: aborted (with an InterruptedError) by the first SIGINT/SIGTERM.
 * `graceMs`: how long the command may take to wind down after it (a service lets running jobs
 * finish; default INTERRUPT_GRACE_MS).
 */
export function interruptSignal(options: { graceMs?: number } = {}): AbortSignal {
  if (options.graceMs !== undefined) state.interruptGraceMs = options.graceMs;
  if (!state.controller) {
    state.controller = new AbortController();
    sync();
  }
  return state.controller.signal;
}


/**
 * For work that cannot watch an AbortSignal (a vitest run): until the returned function is called,
 * a SIGINT/SIGTERM runs the cleanups at once and exits with the signal's code.
 */
export function exitOnSignal(): () => void {
  state.exitOnSignalRuns += 1;
  sync();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    state.exitOnSignalRuns -= 1;
    sync();
  };
}

/** A free TCP port on 127.0.0.1 (the OS picks it), for a server pgdrill starts (a sandbox, a Redis). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

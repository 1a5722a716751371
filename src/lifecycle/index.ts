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
}

export type HandledSignal = 'SIGINT' | 'SIGTERM';

/** How long an aborted command may take to unwind before the cleanups run and the process exits. */
export const INTERRUPT_GRACE_MS = 15_000;
/** How long signal-triggered cleanups may take before the process exits anyway. */
const CLEANUP_TIMEOUT_MS = 60_000;

const cleanups = new Set<Cleanup>();
let controller: AbortController | undefined;
let installed = false;
let interrupted = false;
/** Runs that asked for exit-on-signal without an abortable command (exitOnSignal). */
let exitOnSignalRuns = 0;

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
  if (interrupted) process.exit(signalExitCode(signal));
  interrupted = true;
  if (controller && !controller.signal.aborted) {
    process.stderr.write(`\npgdrill: ${signal} received, cleaning up (again to force)\n`);
    controller.abort(new InterruptedError(signal, { hint: 'Nothing was published by the interrupted run' }));
    // The command unwinds and exits with the error's code; this only fires if something hangs.
    setTimeout(() => finish(signal), INTERRUPT_GRACE_MS).unref();
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
  const want = cleanups.size > 0 || controller !== undefined || exitOnSignalRuns > 0;
  if (want && !installed) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    process.on('exit', onExit);
    installed = true;
  } else if (!want && installed) {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('exit', onExit);
    installed = false;
  }
}

/** Registers something to remove on exit or signal; returns the function that unregisters it. */
export function registerCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  sync();
  return () => {
    cleanups.delete(cleanup);
    sync();
  };
}

/** The process's interrupt signal: aborted (with an InterruptedError) by the first SIGINT/SIGTERM. */
export function interruptSignal(): AbortSignal {
  if (!controller) {
    controller = new AbortController();
    sync();
  }
  return controller.signal;
}


/**
 * For work that cannot watch an AbortSignal (a vitest run): until the returned function is called,
 * a SIGINT/SIGTERM runs the cleanups at once and exits with the signal's code.
 */
export function exitOnSignal(): () => void {
  exitOnSignalRuns += 1;
  sync();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    exitOnSignalRuns -= 1;
    sync();
  };
}

// Process-wide registry of live sandboxes, so nothing outlives pgdrill: not a normal return,
// not an exception, not Ctrl-C (SIGINT → exit 130), not SIGTERM (→ exit 143).
//
// - Every sandbox registers itself as soon as it starts creating anything (temp dir, container)
//   and unregisters when its stop() has finished.
// - While at least one is registered, SIGINT/SIGTERM handlers stop them all and then exit; the
//   handlers are removed again when the registry empties, so an idle CLI is not kept alive and
//   Node's default signal behaviour comes back.
// - A synchronous `exit` hook is the last resort (process.exit from elsewhere, an uncaught
//   exception): it kills what is still registered with blocking calls.
import { SandboxError } from '../errors/index.ts';

export interface TrackedSandbox {
  /** For messages: e.g. `embedded /tmp/pgdrill-sandbox-abc` or `docker postgres:15`. */
  readonly label: string;
  /** Full teardown (the sandbox's own idempotent stop()). */
  stop(): Promise<void>;
  /** Best-effort blocking teardown for the process `exit` event; must not throw. */
  stopSync(): void;
}

const live = new Set<TrackedSandbox>();
let handlersInstalled = false;
let signalHandlingEnabled = true;
let shuttingDown = false;

/** How long a signal-triggered teardown may take before the process exits anyway. */
const SIGNAL_TEARDOWN_TIMEOUT_MS = 60_000;

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type HandledSignal = keyof typeof EXIT_CODES;

function onSignal(signal: HandledSignal): void {
  const code = EXIT_CODES[signal];
  if (shuttingDown) {
    // Second signal while tearing down: stop waiting. The exit hook still kills what is left.
    process.exit(code);
  }
  shuttingDown = true;
  console.error(`pgdrill: ${signal} received, stopping ${live.size} sandbox(es) before exiting`);
  const timer = setTimeout(() => {
    console.error(`pgdrill: sandbox teardown took longer than ${SIGNAL_TEARDOWN_TIMEOUT_MS / 1000}s, exiting anyway`);
    process.exit(code);
  }, SIGNAL_TEARDOWN_TIMEOUT_MS);
  timer.unref();
  stopAllSandboxes()
    .catch((error: unknown) => {
      console.error(`pgdrill: ${error instanceof Error ? error.message : String(error)}`);
    })
    .finally(() => process.exit(code));
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function onExit(): void {
  for (const sandbox of [...live]) {
    try {
      sandbox.stopSync();
    } catch {
      // last resort: nothing more can be done while exiting
    }
  }
  live.clear();
}

function syncHandlers(): void {
  const want = live.size > 0;
  if (want && !handlersInstalled) {
    if (signalHandlingEnabled) {
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
    }
    process.on('exit', onExit);
    handlersInstalled = true;
  } else if (!want && handlersInstalled) {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('exit', onExit);
    handlersInstalled = false;
  }
}

/** Registers a sandbox for teardown on exit or signal; returns its unregister function. */
export function trackSandbox(sandbox: TrackedSandbox): () => void {
  live.add(sandbox);
  syncHandlers();
  return () => {
    live.delete(sandbox);
    syncHandlers();
  };
}

export interface SandboxLifecycleOptions {
  label: string;
  /** Removes everything the sandbox created so far; runs at most once. */
  teardown(): Promise<void>;
  /** Blocking last-resort version of teardown for the process `exit` event; must not throw. */
  stopSync(): void;
  /** Wraps a teardown failure into the error stop() rejects with. */
  stopError(cause: unknown): Error;
}

export interface SandboxLifecycle {
  /**
   * Idempotent stop: waits until startup has settled (so a Ctrl-C during start does not race the
   * start into leaving something behind), runs teardown once, then unregisters.
   */
  stop(): Promise<void>;
  /** Marks startup as finished, successfully or not. Call before stop() on a failed start. */
  settled(): void;
}

/**
 * Registers a sandbox from the moment it starts creating things, with a memoised stop(); the
 * sandbox implementations call this first thing, and `settled()` when their start returns or fails.
 */
export function manageSandbox(options: SandboxLifecycleOptions): SandboxLifecycle {
  let markSettled: () => void = () => undefined;
  const startup = new Promise<void>((resolve) => (markSettled = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= startup
      .then(() => options.teardown())
      .then(
        () => untrack(),
        (error: unknown) => {
          untrack();
          throw options.stopError(error);
        },
      );
    return stopping;
  };
  const untrack = trackSandbox({ label: options.label, stop, stopSync: options.stopSync });
  return { stop, settled: markSettled };
}

/** Number of sandboxes started and not yet stopped in this process. */
export function liveSandboxCount(): number {
  return live.size;
}

/**
 * Lets a caller that handles SIGINT/SIGTERM itself (and calls stopAllSandboxes()) turn off the
 * registry's own signal handlers. The synchronous exit hook stays either way.
 */
export function setSandboxSignalHandling(enabled: boolean): void {
  if (enabled === signalHandlingEnabled) return;
  signalHandlingEnabled = enabled;
  if (handlersInstalled) {
    if (enabled) {
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
    } else {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
  }
}

/** Stops every live sandbox (in parallel); throws one SandboxError naming those that failed. */
export async function stopAllSandboxes(): Promise<void> {
  const sandboxes = [...live];
  const results = await Promise.allSettled(sandboxes.map((sandbox) => sandbox.stop()));
  const failures: string[] = [];
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
      failures.push(`${sandboxes[index]?.label ?? 'sandbox'}: ${reason}`);
    }
  });
  if (failures.length > 0) {
    throw new SandboxError(`Could not stop ${failures.length} sandbox(es): ${failures.join('; ')}`, {
      hint: 'Remove leftovers by hand: `docker rm -f $(docker ps -aq --filter label=pgdrill.sandbox=true)` and /tmp/pgdrill-sandbox-*',
    });
  }
}

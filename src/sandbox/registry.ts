// Live sandboxes of this process, so nothing outlives pgdrill: every sandbox registers itself
// as soon as it starts creating anything (temp dir, container) and unregisters when its stop() has
// finished. Signals and the exit hook are the lifecycle module's: each sandbox is one of its
// cleanups (stopped on SIGINT/SIGTERM, killed with blocking calls at exit).
import { SandboxError } from '../errors/index.ts';
import { registerCleanup, type Leftover } from '../lifecycle/index.ts';

const live = new Set<{ label: string; stop(): Promise<void> }>();

export interface SandboxLifecycleOptions {
  label: string;
  /** Removes everything the sandbox created so far; runs at most once. */
  teardown(): Promise<void>;
  /** Blocking last-resort version of teardown for the process `exit` event; must not throw. */
  stopSync(): void;
  /** Wraps a teardown failure into the error stop() rejects with. */
  stopError(cause: unknown): Error;
  /** What to remove if the process is killed before stop() (see lifecycle's sweepLeftovers). */
  leftover: Leftover;
}

export interface SandboxLifecycle {
  /**
   * Idempotent stop: waits until startup has settled (so a Ctrl-C during start does not race the
   * start into leaving something behind), runs teardown once, then unregisters.
   */
  stop(): Promise<void>;
  /**
   * Runs the sandbox's start: its result when it succeeds; when it fails, everything started so
   * far is stopped and the start's error rethrown. Startup counts as settled either way.
   */
  start<T>(build: () => Promise<T>): Promise<T>;
}

/**
 * Registers a sandbox from the moment it starts creating things, with a memoised stop(); the
 * sandbox implementations call this first thing and run their start through `start()`.
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
  const entry = { label: options.label, stop };
  live.add(entry);
  const unregister = registerCleanup({ kind: 'sandbox(es)', label: options.label, run: stop, runSync: options.stopSync, leftover: options.leftover });
  const untrack = (): void => {
    live.delete(entry);
    unregister();
  };
  const start = async <T>(build: () => Promise<T>): Promise<T> => {
    try {
      const started = await build();
      markSettled();
      return started;
    } catch (error) {
      markSettled();
      await stop().catch(() => undefined);
      throw error;
    }
  };
  return { stop, start };
}

/** Number of sandboxes started and not yet stopped in this process. */
export function liveSandboxCount(): number {
  return live.size;
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

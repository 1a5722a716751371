import { ExitCode, exitCodeOf, InterruptedError, PgdrillError } from '../errors/index.ts';

export const isTTY = (): boolean => Boolean(process.stderr.isTTY) && process.env.CI !== 'true';

import { formatBytes } from '../report/format.ts';

export { formatBytes };

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A progress line rewritten in place on a TTY; silent otherwise. */
export function progressLine(label: string): { update(bytes: number, elapsedMs: number): void; done(): void } {
  if (!isTTY()) return { update: () => {}, done: () => {} };
  return {
    update(bytes, elapsedMs) {
      const rate = elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0;
      process.stderr.write(`\r${label}: ${formatBytes(bytes)} at ${formatBytes(rate)}/s   `);
    },
    done() {
      process.stderr.write('\n');
    },
  };
}

/** Prints an error the user can act on and returns the documented exit code. */
export function reportError(error: unknown, verbose: boolean): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`pgdrill: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else if (!(error instanceof PgdrillError)) process.stderr.write('(unexpected error; run with --verbose for the stack trace)\n');
  return exitCodeOf(error);
}

/** Aborts on SIGINT/SIGTERM so running work can clean up (abort uploads, kill pg_dump); a second signal exits at once. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) process.exit(signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    process.stderr.write(`\npgdrill: ${signal} received, cleaning up (again to force)\n`);
    controller.abort(new InterruptedError(signal, { hint: 'Nothing was published by the interrupted run' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

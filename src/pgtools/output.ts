// One shape for a failed PostgreSQL tool, whoever ran it (a local child or `docker exec`):
// "<command> [context] failed (<outcome>): <last lines of stderr>", secrets scrubbed.
import { PgdrillError, type PgdrillErrorOptions } from '../errors/index.ts';

/** Last lines of a text (a server log, a tool's stderr), for error messages. */
export function tail(text: string, lines = 25, maxChars = 4000): string {
  const kept = text.trimEnd().split('\n').slice(-lines).join('\n');
  return kept.length > maxChars ? `…${kept.slice(-maxChars)}` : kept;
}

/** Replaces each secret (a password, a URL carrying one) in `text`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((out, secret) => out.replaceAll(secret, '********'), text);
}

export interface PgToolFailure {
  /** Binary basename and the arguments that say what it did, e.g. `pg_restore --list`, `pg_ctl start`. */
  readonly command: string;
  /** Exit code, when the tool ran to an exit. */
  readonly exitCode: number | undefined;
  /** `exit code 1`, `killed by SIGKILL`, `timed out after 40 s`, `cancelled`, `could not start: spawn … ENOENT`. */
  readonly outcome: string;
  /** Whether the binary never ran (missing, not executable): a setup problem, not the tool's verdict. */
  readonly notStarted: boolean;
  /** Last lines of its stderr (stdout when stderr is empty), joined with ` | `, secrets scrubbed. */
  readonly tail: string;
}

export interface ToolRunOutcome {
  command: string;
  exitCode?: number;
  signal?: string;
  timedOutAfterMs?: number;
  cancelled?: boolean;
  /** Why the binary could not be started (spawn error message). */
  startError?: string;
  /** stderr, or stderr and stdout, of the run. */
  output: string;
  /** Secrets to blank out of the output (the sandbox password, PGPASSWORD). */
  scrub?: readonly string[];
}

const TAIL_LINES = 10;

/** The failure of a tool run, or undefined when it exited 0. */
export function pgToolFailure(run: ToolRunOutcome): PgToolFailure | undefined {
  if (run.exitCode === 0 && !run.timedOutAfterMs && !run.cancelled) return undefined;
  const scrub = (text: string) => scrubSecrets(text, run.scrub ?? []);
  const outcome = run.timedOutAfterMs
    ? `timed out after ${run.timedOutAfterMs < 1000 ? `${run.timedOutAfterMs} ms` : `${Math.round(run.timedOutAfterMs / 1000)} s`}`
    : run.cancelled
      ? 'cancelled'
      : run.exitCode !== undefined
        ? `exit code ${run.exitCode}`
        : run.signal
          ? `killed by ${run.signal}`
          : `could not start: ${scrub(run.startError ?? 'unknown error')}`;
  const lines = tail(scrub(run.output), TAIL_LINES)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return {
    command: scrub(run.command),
    exitCode: run.exitCode,
    outcome,
    notStarted: run.exitCode === undefined && !run.signal && !run.timedOutAfterMs && !run.cancelled,
    tail: lines.join(' | '),
  };
}

/** A PgdrillError subclass, chosen by the caller (RestoreError, SandboxError, BackupError, ...). */
export type PgdrillErrorClass = new (message: string, options?: PgdrillErrorOptions) => PgdrillError;

export interface PgToolErrorOptions {
  /** Error class the failure is raised as; default PgdrillError (exit 1). */
  as?: PgdrillErrorClass;
  /** Where or on what it ran, after the command: `into db:5432/app`, `of x.dump in the docker sandbox`. */
  context?: string;
  /** What to do about it; specific to the caller. */
  hint?: string;
}

/** The one error for a failed tool run: names the command, the outcome and the stderr tail. */
export function pgToolError(failure: PgToolFailure, options: PgToolErrorOptions = {}): PgdrillError {
  const ErrorClass = options.as ?? PgdrillError;
  const subject = options.context ? `${failure.command} ${options.context}` : failure.command;
  return new ErrorClass(`${subject} failed (${failure.outcome})${failure.tail ? `: ${failure.tail}` : ''}`, { hint: options.hint });
}

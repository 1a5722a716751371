// pg_restore's own account of a restore. Without --exit-on-error it goes on after an error and
// ends with "errors ignored on restore: N"; run with --verbose, it names the table-of-contents
// entry of each error ("from TOC entry 3355; 0 16394 TABLE DATA shipments owner"). PgRestoreLog
// reads that stream as it comes (verbose output can be long) and keeps only the errors, each with
// its entry and the likely cause, and the lines that are not progress chatter.
import { RestoreError, type PgdrillError, type PgdrillErrorOptions } from '../errors/index.ts';
import { pgToolError, scrubSecrets, tail, type PgToolErrorOptions, type PgToolFailure } from './output.ts';
import { runPgTool, type PgToolOptions } from './run.ts';

/** The classes of restore failure pgdrill recognises from the server's message. */
export type RestoreCause = 'unqualified-reference' | 'missing-extension' | 'missing-role' | 'version-mismatch' | 'other';

/** One error pg_restore reported, with the archive entry it was processing. */
export interface PgRestoreError {
  /** Dump id of the table-of-contents entry (`pg_restore --list` prints it first); null outside any entry. */
  tocId: number | null;
  /** The entry as pg_restore named it: description, tag and owner, e.g. `TABLE DATA shipments app` (no schema). */
  entry: string | null;
  /** The error's first line, e.g. `COPY failed for table "shipments": ERROR:  relation "tariffs" does not exist`. */
  message: string;
  /** The server's CONTEXT line naming the function that failed, when there is one. */
  context?: string;
  cause: RestoreCause;
  /** The object the cause names: the unqualified relation, the extension or the role. */
  causeObject?: string;
}

const TOC_ENTRY = /^pg_restore: from TOC entry (\d+); \d+ \d+ (.*)$/;
const ERROR = /^pg_restore: error: (.*)$/;
const DETAIL = /^pg_restore: (?:detail|hint): /;
const ERRORS_IGNORED = /^pg_restore: warning: errors ignored on restore: (\d+)/;
const SIGNIFICANT = /^pg_restore: (?:error|warning|fatal|detail|hint): /;
/** Kept of the non-chatter lines, for the tail of an error that is not a list of objects. */
const SIGNIFICANT_KEEP = 200;

/** Likely cause of one error, from its whole text (message, CONTEXT, HINT). */
export function classifyRestoreError(text: string): { cause: RestoreCause; object?: string } {
  const extension = /extension "([^"]+)" is not available|could not open extension control file "[^"]*\/([^/"]+)\.control"|could not access file "\$libdir\/([^"]+)"/.exec(text);
  if (extension) return { cause: 'missing-extension', object: extension[1] ?? extension[2] ?? extension[3] };
  const role = /role "([^"]+)" does not exist/.exec(text);
  if (role) return { cause: 'missing-role', object: role[1] };
  if (/unsupported version \([\d.]+\) in file header|unrecognized configuration parameter|server version mismatch|unsupported (?:PostgreSQL )?server version/i.test(text)) {
    return { cause: 'version-mismatch' };
  }
  // A name that resolves in the application (its search_path) but not under pg_restore's empty
  // one: the failing statement runs inside a function (CONTEXT names it).
  const missing = /(?:relation|function|type|operator) "?([^"\s(]+)[^"]*"? does not exist/.exec(text);
  if (missing && /(?:SQL|PL\/pgSQL) function "/.test(text)) return { cause: 'unqualified-reference', object: missing[1] };
  return { cause: 'other' };
}

/** What to do about each recognised cause, once per cause and object. */
export function restoreCauseHints(errors: readonly Pick<PgRestoreError, 'cause' | 'causeObject' | 'context'>[]): string[] {
  const hints = new Map<string, string>();
  for (const e of errors) {
    const key = `${e.cause}:${e.causeObject ?? ''}`;
    if (hints.has(key)) continue;
    const name = e.causeObject ?? 'an object';
    const fn = /function "([^"]+)"/.exec(e.context ?? '')?.[1];
    if (e.cause === 'unqualified-reference') {
      hints.set(
        key,
        `likely cause: ${fn ? `function ${fn}` : 'a function'} names ${name} without its schema; pg_restore runs with an empty search_path (PostgreSQL 10.3 and later), so a CHECK constraint, index, default or generated column calling it fails on restore though it works in the application. Qualify the name in the function (e.g. public.${name}) or give the function SET search_path, then take a new backup`,
      );
    } else if (e.cause === 'missing-extension') {
      hints.set(key, `likely cause: extension ${name} is not installed where the restore ran; give the sandbox an image or binaries that have it (sandbox.image, sandbox.binDir)`);
    } else if (e.cause === 'missing-role') {
      hints.set(key, `likely cause: role ${name} does not exist where the restore ran; restore the backup's role globals first (the drill does) or create the role`);
    } else if (e.cause === 'version-mismatch') {
      hints.set(key, 'likely cause: the archive or its SQL needs a newer PostgreSQL than the one restoring it; use pg_restore and a server of the source\'s major version or newer (sandbox.image, sandbox.binDir, PGDRILL_PG_BINDIR)');
    }
  }
  return [...hints.values()];
}

/** First line of a server error without the row data COPY context and DETAIL lines can carry. */
function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

/** Reads pg_restore's stderr incrementally; `end()` flushes the last line. */
export class PgRestoreLog {
  readonly errors: PgRestoreError[] = [];
  /** pg_restore's closing count: set only when it ran to its end (without --exit-on-error). */
  errorsIgnored: number | undefined;
  readonly #significant: string[] = [];
  #pending = '';
  #entry: { tocId: number; entry: string } | undefined;
  /** The error whose continuation lines (LINE, QUERY, CONTEXT, Command was) are still coming. */
  #open: { tocId: number | null; entry: string | null; text: string } | undefined;

  push(chunk: string): void {
    const lines = (this.#pending + chunk).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  end(): void {
    if (this.#pending) this.#line(this.#pending);
    this.#pending = '';
    this.#close();
  }

  /** The lines that are not progress chatter (errors, warnings and their continuation). */
  significant(): string {
    return this.#significant.join('\n');
  }

  #keep(line: string): void {
    this.#significant.push(line);
    if (this.#significant.length > SIGNIFICANT_KEEP) this.#significant.shift();
  }

  #line(line: string): void {
    if (!line.startsWith('pg_restore: ')) {
      // Continuation of a multi-line server error.
      if (this.#open) {
        this.#open.text += `\n${line}`;
        this.#keep(line);
      }
      return;
    }
    if (DETAIL.test(line) && this.#open) {
      this.#open.text += `\n${line.replace(/^pg_restore: /, '')}`;
      this.#keep(line);
      return;
    }
    this.#close();
    const toc = TOC_ENTRY.exec(line);
    if (toc) {
      this.#entry = { tocId: Number(toc[1]), entry: toc[2]! };
      return;
    }
    const error = ERROR.exec(line);
    if (error) {
      this.#open = { tocId: this.#entry?.tocId ?? null, entry: this.#entry?.entry ?? null, text: error[1]! };
      this.#keep(line);
      return;
    }
    const ignored = ERRORS_IGNORED.exec(line);
    if (ignored) this.errorsIgnored = Number(ignored[1]);
    if (SIGNIFICANT.test(line)) this.#keep(line);
    // Any other line is progress ("creating INDEX …", "processing item …"): a later error belongs
    // to the entry a new "from TOC entry" line names, not to the last one.
    else this.#entry = undefined;
  }

  #close(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const { cause, object } = classifyRestoreError(open.text);
    const context = /^CONTEXT:\s+(.*)$/m.exec(open.text)?.[1]?.trim();
    this.errors.push({
      tocId: open.tocId,
      entry: open.entry,
      message: firstLine(open.text),
      ...(context && /function "/.test(context) ? { context: context.replace(/\s+/g, ' ') } : {}),
      cause,
      ...(object ? { causeObject: object } : {}),
    });
  }
}

/**
 * pg_restore ran to its end, but some entries failed: the database holds everything else. The
 * message names each failed entry; the hint the likely cause.
 */
export class IncompleteRestoreError extends RestoreError {
  readonly objectErrors: readonly PgRestoreError[];
  /** pg_restore's own count (a parallel restore may count an error twice). */
  readonly errorsIgnored: number;
  constructor(message: string, options: PgdrillErrorOptions & { objectErrors: readonly PgRestoreError[]; errorsIgnored: number }) {
    super(message, options);
    this.objectErrors = options.objectErrors;
    this.errorsIgnored = options.errorsIgnored;
  }
}

export interface PgRestoreErrorOptions extends PgToolErrorOptions {
  /** Appended to the hint when pg_restore ran to its end with errors (e.g. "the target is partly restored"). */
  incompleteHint?: string;
  /** Secrets blanked out of the log's text. */
  scrub?: readonly string[];
}

/**
 * The error for a failed pg_restore: an IncompleteRestoreError naming every failed entry when it
 * ran to its end, else the one tool-failure shape with the log's significant lines and, when the
 * cause is recognised, its hint instead of the caller's.
 */
export function pgRestoreError(failure: PgToolFailure, log: PgRestoreLog, options: PgRestoreErrorOptions = {}): PgdrillError {
  const scrub = (text: string) => scrubSecrets(text, options.scrub ?? []);
  const errors = log.errors.map((e) => ({ ...e, message: scrub(e.message), ...(e.context ? { context: scrub(e.context) } : {}) }));
  const causes = restoreCauseHints(errors);
  const subject = options.context ? `${failure.command} ${options.context}` : failure.command;
  if (log.errorsIgnored !== undefined && errors.length > 0) {
    const listed = errors.slice(0, 5).map((e) => `${e.entry ?? 'outside any archive entry'}: ${e.message}`);
    const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
    const hint = [...(causes.length ? causes : ['each error names the archive entry pg_restore could not restore']), ...(options.incompleteHint ? [options.incompleteHint] : [])];
    // The one failure shape (output.ts), the outcome saying it went on to the end.
    return new IncompleteRestoreError(`${subject} failed (${failure.outcome}, ran to its end with ${errors.length} error(s)): ${listed.join('; ')}${more}`, {
      hint: hint.join('. '),
      objectErrors: errors,
      errorsIgnored: log.errorsIgnored,
    });
  }
  const significant = tail(scrub(log.significant()), 10)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' | ');
  return pgToolError({ ...failure, tail: significant || failure.tail }, { ...options, hint: causes.length ? causes.join('. ') : options.hint });
}

/**
 * Runs a local pg_restore with --verbose (so errors name their entries) to its end; throws
 * pgRestoreError's error when it fails.
 */
export async function runPgRestore(binary: string, args: readonly string[], options: PgToolOptions & { error: PgRestoreErrorOptions }): Promise<void> {
  const log = new PgRestoreLog();
  const { failure } = await runPgTool(binary, ['--verbose', ...args], { ...options, reject: false, onStderr: (chunk) => log.push(chunk) });
  log.end();
  if (!failure) return;
  const reason: unknown = options.cancelSignal?.aborted ? options.cancelSignal.reason : undefined;
  if (reason instanceof Error) throw reason;
  throw pgRestoreError(failure, log, { ...options.error, scrub: [...(options.scrub ?? []), ...(options.env?.PGPASSWORD ? [options.env.PGPASSWORD] : [])] });
}

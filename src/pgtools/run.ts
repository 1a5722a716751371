// Runs a PostgreSQL tool the one way pgdrill runs them: argv array (no shell), the allow-listed
// environment plus explicit extras, stdin closed (a password prompt fails instead of hanging), a
// bounded tail of stderr kept for the error, and failures raised in the one shape of output.ts.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type * as Execa from 'execa';
import { PgdrillError } from '../errors/index.ts';
import { registerCleanup } from '../lifecycle/index.ts';
import { childEnv } from './env.ts';
import { pgToolError, pgToolFailure, tail, type PgToolErrorOptions, type PgToolFailure } from './output.ts';

export interface PgToolOptions {
  /** Variables added to the allow-listed environment (see childEnv): connection, PGPASSWORD, ... */
  env?: Record<string, string>;
  /** How errors name the run; default: the binary's basename and its leading non-option arguments (`pg_ctl start`). */
  command?: string;
  /** Secrets blanked out of error text, in addition to the PGPASSWORD given in `env`. */
  scrub?: readonly string[];
  cwd?: string;
  /** Run as another OS user (the embedded sandbox's server binaries refuse to run as root). */
  uid?: number;
  gid?: number;
  /** Milliseconds before the tool is killed. */
  timeout?: number;
  /** Aborting kills the tool. */
  cancelSignal?: AbortSignal;
  /** Sees all of stderr as it comes (only a bounded tail is kept for the error). */
  onStderr?: (chunk: string) => void;
}

export interface RunPgToolOptions extends PgToolOptions {
  /** `keep`: collect stdout into result.stdout; default `ignore`. */
  stdout?: 'ignore' | 'keep';
  /** false: return the failure in the result instead of throwing (default true). */
  reject?: boolean;
  /** The error raised on failure (class, context, hint). */
  error?: PgToolErrorOptions;
}

export interface PgToolResult {
  /** Collected stdout (`stdout: 'keep'`), else ''. */
  stdout: string;
  /** Why it failed; undefined when it exited 0. */
  failure: PgToolFailure | undefined;
}

/** A tool whose stdout the caller streams (pg_dump into the backup pipeline). */
export interface PgToolProcess {
  readonly stdout: Readable;
  kill(): void;
  /** Settles when the tool has ended; never rejects (see result.failure). */
  readonly result: Promise<PgToolResult>;
}

// execa (111 modules, ~5 MB) loads at the first spawn, not with this index: `pgdrill run`, an idle
// worker and `--help` never start a tool. require() of an ES module is synchronous in Node >= 22.12,
// so spawnPgTool keeps returning the child at once.
const requireModule = createRequire(import.meta.url);
let execaModule: typeof Execa | undefined;
export const loadExeca = (): typeof Execa => (execaModule ??= requireModule('execa') as typeof Execa);

/**
 * The `postgres` OS user's uid and gid (Debian's server package creates it), or undefined when
 * there is none. Running as root, pgdrill runs the server binaries and pgBackRest as this user.
 */
export async function postgresOsUser(): Promise<{ uid: number; gid: number } | undefined> {
  const id = async (flag: '-u' | '-g'): Promise<number | undefined> => {
    const result = await loadExeca().execa('id', [flag, 'postgres'], { env: childEnv(), extendEnv: false, reject: false });
    const value = String(result.stdout).trim();
    return result.exitCode === 0 && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const [uid, gid] = [await id('-u'), await id('-g')];
  return uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
}

/** At most this much of stderr is kept: enough for the tail, bounded for a chatty tool. */
const STDERR_KEEP = 64 * 1024;

function defaultCommand(binary: string, args: readonly string[]): string {
  const operands: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-')) break;
    operands.push(arg);
  }
  return [path.basename(binary), ...operands].join(' ');
}

function launch(binary: string, args: readonly string[], options: PgToolOptions, stdout: 'ignore' | 'keep' | 'stream') {
  const env = childEnv(options.env);
  const scrub = [...(options.scrub ?? []), ...(env.PGPASSWORD ? [env.PGPASSWORD] : [])];
  const execaOptions: Execa.Options = {
    env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: stdout === 'ignore' ? 'ignore' : 'pipe',
    buffer: { stdout: stdout === 'keep', stderr: false },
    reject: false,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
  };
  const subprocess = loadExeca().execa(binary, args, execaOptions);
  // A tool never outlives pgdrill: stopped on a signal or at exit, and swept by the next service
  // start if pgdrill itself was killed.
  const program = path.basename(binary);
  const unregister =
    subprocess.pid === undefined
      ? () => {}
      : registerCleanup({
          kind: 'PostgreSQL tool(s)',
          label: `${program} (pid ${subprocess.pid})`,
          run: async () => void subprocess.kill('SIGTERM'),
          runSync: () => void subprocess.kill('SIGKILL'),
          leftover: { process: { pid: subprocess.pid, program } },
        });
  let stderr = '';
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
    options.onStderr?.(chunk);
  });
  const result: Promise<PgToolResult> = subprocess.then((r) => {
    unregister();
    const out = typeof r.stdout === 'string' ? r.stdout : '';
    const failure = pgToolFailure({
      command: options.command ?? defaultCommand(binary, args),
      exitCode: r.exitCode,
      signal: r.signal,
      timedOutAfterMs: r.timedOut ? options.timeout : undefined,
      cancelled: r.isCanceled,
      startError: r.originalMessage ?? r.shortMessage,
      output: stderr.trim() ? stderr : out,
      scrub,
    });
    return { stdout: out, failure };
  });
  return { subprocess, result };
}

/**
 * Runs a tool to its end. On failure throws pgToolError(failure, options.error), or the abort
 * reason when `cancelSignal` ended it; with `reject: false` returns the failure instead.
 */
export async function runPgTool(binary: string, args: readonly string[], options: RunPgToolOptions = {}): Promise<PgToolResult> {
  const result = await launch(binary, args, options, options.stdout ?? 'ignore').result;
  if (result.failure && options.reject !== false) {
    const reason: unknown = options.cancelSignal?.aborted ? options.cancelSignal.reason : undefined;
    throw reason instanceof Error ? reason : pgToolError(result.failure, options.error);
  }
  return result;
}

/** Starts a tool whose stdout the caller consumes; check `result` for how it ended. */
export function spawnPgTool(binary: string, args: readonly string[], options: PgToolOptions = {}): PgToolProcess {
  const { subprocess, result } = launch(binary, args, options, 'stream');
  return { stdout: subprocess.stdout!, kill: () => subprocess.kill(), result };
}

/** Parses `initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` → { major: 15, version: '15.14' }. */
export function parseVersionOutput(output: string): { major: number; version: string } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!match?.[1]) return undefined;
  const major = Number(match[1]);
  return { major, version: match[2] === undefined ? String(major) : `${major}.${match[2]}` };
}

export interface PgToolVersion {
  major: number;
  /** `15.14` */
  version: string;
  /** Everything after "(PostgreSQL)", e.g. `15.14 (Debian 15.14-0+deb12u1)`. */
  text: string;
}

/** `<binary> --version`; a tool that does not run or prints no PostgreSQL version raises `error`. */
export async function toolVersion(binary: string, error: PgToolErrorOptions = {}): Promise<PgToolVersion> {
  const command = `${path.basename(binary)} --version`;
  const { stdout } = await runPgTool(binary, ['--version'], { stdout: 'keep', timeout: 10_000, command, error });
  const parsed = parseVersionOutput(stdout);
  if (!parsed) {
    const ErrorClass = error.as ?? PgdrillError;
    throw new ErrorClass(`${command} printed no PostgreSQL version: ${tail(stdout, 1, 200) || '(nothing)'}`, { hint: error.hint });
  }
  return { ...parsed, text: stdout.trim().replace(/^.*\(PostgreSQL\)\s*/, '') };
}

/** Whether pg_restore arguments already name a database (then a sandbox's own is not added). */
export function hasDbnameArg(args: readonly string[]): boolean {
  return args.some((arg) => arg === '-d' || /^-d./.test(arg) || arg === '--dbname' || arg.startsWith('--dbname='));
}

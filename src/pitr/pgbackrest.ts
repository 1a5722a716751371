// pgBackRest, run the way pgdrill runs every tool (runPgTool: argv array, allow-listed environment,
// stderr tail in errors). Every option reaches it as PGBACKREST_* environment — the repository
// options from pitr.options, the user's own PGBACKREST_* variables, the cipher pass from the
// variable pitr.cipherPassEnv names — so no secret is ever on a command line, and each is
// scrubbed from errors.
import { ConfigError, CryptoError, PgdrillError, RestoreError } from '../errors/index.ts';
import type { PitrConfig } from '../config/index.ts';
import { runPgTool, type PgdrillErrorClass, type PgToolOptions } from '../pgtools/index.ts';
import { parseInfo, type RepositoryInfo, type WalSegment } from './plan.ts';

export const PGBACKREST = 'pgbackrest';

/** A pgBackRest option name as its environment variable: `repo1-path` → PGBACKREST_REPO1_PATH. */
export const optionVariable = (name: string): string => `PGBACKREST_${name.toUpperCase().replaceAll('-', '_')}`;

/** Variables whose values are secrets (scrubbed from errors). */
const SECRET_OPTION = /CIPHER_PASS|KEY_SECRET|_KEY$|TOKEN|PASSWORD|SECRET/;

export interface PgbackrestRunner {
  readonly stanza: string;
  /** The environment every pgBackRest run of this stanza gets (secrets included: never print it). */
  readonly env: Record<string, string>;
  /** Values to blank out of any text shown. */
  readonly secrets: readonly string[];
  /** Where the cipher pass came from, for messages ("PGDRILL_PITR_CIPHER_PASS"), or null. */
  readonly cipherPassEnv: string | null;
  run(args: readonly string[], options?: PgbackrestRunOptions): Promise<string>;
}

export interface PgbackrestRunOptions extends Pick<PgToolOptions, 'uid' | 'gid' | 'timeout' | 'cancelSignal' | 'cwd'> {
  /** Variables added for this run (lock and spool paths of a restore). */
  env?: Record<string, string>;
  as?: PgdrillErrorClass;
  context?: string;
  hint?: string;
}

/**
 * The runner for one stanza: pitr.options and the process's own PGBACKREST_* variables as
 * environment (logs to stderr only: pgdrill never writes pgBackRest's log folder), the cipher pass
 * from `pitr.cipherPassEnv`. A missing cipher pass variable is a configuration error (exit 3).
 */
export function pgbackrest(pitr: PitrConfig, processEnv: NodeJS.ProcessEnv = process.env): PgbackrestRunner {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(processEnv)) if (name.startsWith('PGBACKREST_') && value !== undefined) env[name] = value;
  for (const [name, value] of Object.entries(pitr.options)) env[optionVariable(name)] = typeof value === 'boolean' ? (value ? 'y' : 'n') : String(value);
  if (pitr.config) env.PGBACKREST_CONFIG = pitr.config;
  env.PGBACKREST_STANZA = pitr.stanza;
  if (pitr.cipherPassEnv) {
    const pass = processEnv[pitr.cipherPassEnv];
    if (!pass) {
      throw new ConfigError(`pitr.cipherPassEnv names ${pitr.cipherPassEnv}, which is not set`, {
        hint: `Set ${pitr.cipherPassEnv} to the repository's cipher pass (repo1-cipher-pass in the pgbackrest.conf of the database host)`,
      });
    }
    env.PGBACKREST_REPO1_CIPHER_PASS = pass;
  }
  // pgdrill's runs log nothing to files and keep stdout for their output.
  Object.assign(env, { PGBACKREST_LOG_LEVEL_FILE: 'off', PGBACKREST_LOG_LEVEL_CONSOLE: 'off', PGBACKREST_LOG_LEVEL_STDERR: 'warn' });
  const secrets = Object.entries(env)
    .filter(([name, value]) => SECRET_OPTION.test(name) && value.length > 0)
    .map(([, value]) => value);
  return {
    stanza: pitr.stanza,
    env,
    secrets,
    cipherPassEnv: pitr.cipherPassEnv ?? null,
    async run(args, options = {}) {
      const { stdout } = await runPgTool(PGBACKREST, args, {
        env: { ...env, ...options.env },
        scrub: secrets,
        stdout: 'keep',
        command: `pgbackrest ${args.find((a) => !a.startsWith('-')) ?? ''}`.trim(),
        ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.timeout ? { timeout: options.timeout } : {}),
        ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
        error: {
          as: options.as ?? PgdrillError,
          context: options.context ?? `(stanza ${pitr.stanza})`,
          hint: options.hint ?? 'Check the repository options (pitr.options, pitr.config, PGBACKREST_* variables) and that pgbackrest is installed (apt-get install pgbackrest)',
        },
      }).catch((error: unknown) => {
        if (error instanceof PgdrillError && /could not start: .*ENOENT/.test(error.message)) {
          throw new ConfigError('pgbackrest is not installed (not found on PATH)', { hint: 'Install it: apt-get install pgbackrest (Debian ships 2.45)', cause: error });
        }
        throw error;
      });
      return stdout;
    },
  };
}

/** Text pgBackRest printed, made safe to show: secrets blanked, binary garbage (a wrongly decrypted file) dropped. */
export function printable(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, '********');
  return out.replace(/[^\x20-\x7E\n]+/g, '…').replace(/(…\s*){2,}/g, '… ');
}

/**
 * `pgbackrest info --output=json` for the stanza. pgBackRest exits 0 even when the repository is
 * unreadable and says so in `status`; that is turned into the error it means: a wrong cipher pass
 * (exit 4), an encrypted repository without one, a missing stanza (exit 3).
 */
export async function readRepositoryInfo(runner: PgbackrestRunner, options: { signal?: AbortSignal } = {}): Promise<RepositoryInfo> {
  const stdout = await runner.run(['info', '--output=json'], { cancelSignal: options.signal, timeout: 300_000 });
  const info = parseInfo(stdout, runner.stanza);
  const entry = info.raw as { status?: { code?: number; message?: string }; repo?: Array<{ status?: { code?: number; message?: string } }> };
  const repoStatus = entry.repo?.[0]?.status;
  const code = repoStatus?.code ?? entry.status?.code ?? 0;
  if (code === 0 || code === 2) return info;
  const detail = printable(repoStatus?.message ?? entry.status?.message ?? 'unknown status', runner.secrets).split('\n').slice(0, 2).join(' ');
  const where = `the pgBackRest repository of stanza "${runner.stanza}"`;
  if (/unable to load info file/.test(detail) && runner.cipherPassEnv) {
    throw new CryptoError('WRONG_KEY', `the cipher pass in ${runner.cipherPassEnv} does not decrypt ${where} (pgBackRest: ${detail.slice(0, 300)})`, {
      hint: `Set ${runner.cipherPassEnv} to the repository's repo1-cipher-pass (from the pgbackrest.conf of the database host)`,
    });
  }
  if (/unable to load info file/.test(detail) && /Salted__/.test(repoStatus?.message ?? '')) {
    throw new ConfigError(`${where} is encrypted, but no cipher pass is configured`, {
      hint: 'Name the variable that holds its repo1-cipher-pass in pitr.cipherPassEnv, and set repo1-cipher-type (pitr.options)',
    });
  }
  const hint = code === 1 || code === 3 ? 'Check pitr.stanza and the repository options; was `pgbackrest stanza-create` run? (docs/pitr.md)' : 'See docs/pitr.md';
  throw new ConfigError(`${where} cannot be read (pgBackRest status ${code}): ${detail.slice(0, 400)}`, { hint });
}

/** WAL segment file name in the repository: segment, optional checksum, compression extension. */
const SEGMENT_FILE = /(?:^|\/)([0-9A-F]{24})(?:-[0-9a-f]{40})?(?:\.[a-z0-9]+)?$/;

/** Every WAL segment in one archive id (`15-1`), with when it was archived (`pgbackrest repo-ls`). */
export async function listWalSegments(runner: PgbackrestRunner, archiveId: string, options: { signal?: AbortSignal } = {}): Promise<WalSegment[]> {
  const stdout = await runner.run(['repo-ls', `archive/${runner.stanza}/${archiveId}`, '--recurse', '--output=json'], { cancelSignal: options.signal, timeout: 300_000 });
  const listing = JSON.parse(stdout) as Record<string, { type: string; time?: number }>;
  const segments: WalSegment[] = [];
  for (const [name, entry] of Object.entries(listing)) {
    const match = entry.type === 'file' ? SEGMENT_FILE.exec(name) : null;
    if (match?.[1] && entry.time !== undefined) segments.push({ name: match[1], archivedAt: new Date(entry.time * 1000).toISOString() });
  }
  return segments.sort((a, b) => a.name.localeCompare(b.name));
}

/** `pgbackrest verify`: whether it found the repository valid, and its report. */
export async function verifyRepository(runner: PgbackrestRunner, options: { signal?: AbortSignal } = {}): Promise<{ ok: boolean; output: string; error?: string }> {
  try {
    const output = printable(await runner.run(['verify', '--output=text', '--verbose'], { cancelSignal: options.signal, timeout: 3_600_000, as: RestoreError }), runner.secrets).trim();
    return { ok: /^\s*status: ok\s*$/m.test(output), output };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { ok: false, output: '', error: printable((error as Error).message, runner.secrets) };
  }
}


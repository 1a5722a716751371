// Helpers to drive pgdrill the way users do: the real CLI as a child process, with a config
// built only from environment variables.
import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { loadConfig, type PgdrillConfig, type PgdrillConfigInput } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/index.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO_ROOT, 'bin/pgdrill.js');

/** A fresh folder under the run's temp root (removed by the integration global teardown). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.PGDRILL_TEST_TMP ?? os.tmpdir(), `pgdrill-${prefix}-`));
}

/** Every file under `dir` (recursively), as sorted relative paths; [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

export function newKeyring(id = 'k1'): string {
  const key = generateKey(id);
  return `${key.id}:${key.base64}`;
}

export interface CliOptions {
  cwd?: string;
  timeoutMs?: number;
  nodeArgs?: string[];
  /** Keep stdout and stderr interleaved as `all`, in the order they were written. */
  all?: boolean;
}

/**
 * Starts `pgdrill ARGS` with only the given environment on top of PATH/HOME; the returned process
 * can be signalled (`kill('SIGTERM')`) and awaited; awaiting never throws. A signal sent with
 * `kill` is never followed by execa's SIGKILL, so a test sees how the CLI itself ends.
 */
export function startCli(args: string[], env: Record<string, string | undefined>, options: CliOptions = {}): ResultPromise<{ reject: false; all: boolean }> {
  return execa('node', [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? tempDir('cwd'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: process.env.CI, ...env },
    extendEnv: false,
    reject: false,
    timeout: options.timeoutMs ?? 240_000,
    forceKillAfterDelay: false,
    all: options.all ?? false,
  });
}

/** Runs `pgdrill ARGS` to its end (see startCli); never throws. */
export async function runCli(args: string[], env: Record<string, string | undefined>, options: CliOptions = {}) {
  return await startCli(args, env, options);
}

/** A resolved config from environment variables (as the CLI would see them) plus overrides. */
export function configFromEnv(env: Record<string, string | undefined>, flags?: PgdrillConfigInput): Promise<PgdrillConfig> {
  return loadConfig({ env, cwd: tempDir('cfg'), flags });
}

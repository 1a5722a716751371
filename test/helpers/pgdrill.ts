// Helpers to drive pgdrill the way users do: the real CLI as a child process, with a config
// built only from environment variables.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { loadConfig, type PgdrillConfig, type PgdrillConfigInput } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/index.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO_ROOT, 'bin/pgdrill.js');

/** A fresh folder under the run's temp root (removed by the integration global teardown). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.PGDRILL_TEST_TMP ?? os.tmpdir(), `pgdrill-${prefix}-`));
}

export function newKeyring(id = 'k1'): string {
  const key = generateKey(id);
  return `${key.id}:${key.base64}`;
}

/** Runs `pgdrill ARGS` with only the given environment on top of PATH/HOME; never throws. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; timeoutMs?: number; nodeArgs?: string[]; all?: boolean } = {},
): Promise<Result> {
  return execa('node', [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? tempDir('cwd'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: process.env.CI, ...env },
    extendEnv: false,
    reject: false,
    timeout: options.timeoutMs ?? 240_000,
    all: options.all ?? false,
  }) as unknown as Promise<Result>;
}

/** A resolved config from environment variables (as the CLI would see them) plus overrides. */
export function configFromEnv(env: Record<string, string | undefined>, flags?: PgdrillConfigInput): Promise<PgdrillConfig> {
  return loadConfig({ env, cwd: tempDir('cfg'), flags });
}

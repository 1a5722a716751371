import { execa } from 'execa';
import { describeConnection, libpqEnv, parseDatabaseUrl, type ConnectionInfo } from '../dump/index.ts';
import { RestoreError } from '../errors/index.ts';
import type { Sandbox } from '../sandbox/index.ts';

/** What a restore needs of where it restores to: a sandbox, or an existing database. */
export type RestoreTarget = Pick<Sandbox, 'connectionUri' | 'pgRestore' | 'psqlFile'> & { readonly description: string };

function tailOf(stderr: unknown): string {
  return String(stderr).trim().split('\n').slice(-8).join(' | ');
}

/**
 * An existing database given by URL (`pgdrill restore --target-db`), restored with the host's
 * pg_restore / psql from `binDir` (default: PATH); the password goes through the environment.
 */
export function createDatabaseTarget(url: string, binDir?: string): RestoreTarget & { info: ConnectionInfo } {
  const info = parseDatabaseUrl(url, '--target-db');
  const bin = (name: string) => (binDir ? `${binDir}/${name}` : name);
  const env = libpqEnv(info);
  return {
    info,
    description: describeConnection(info),
    connectionUri(database = info.database) {
      const u = new URL(url);
      u.pathname = `/${encodeURIComponent(database)}`;
      return u.toString();
    },
    async pgRestore(archivePath, args) {
      const result = await execa(bin('pg_restore'), ['--no-password', `--dbname=${info.database}`, ...args, archivePath], { env, extendEnv: false, reject: false, stdout: 'ignore' });
      if (result.exitCode !== 0) {
        throw new RestoreError(`pg_restore into ${describeConnection(info)} failed (exit ${result.exitCode}): ${tailOf(result.stderr)}`, {
          hint: 'Read the pg_restore errors above; the target may be partly restored — restore into an empty database',
        });
      }
    },
    async psqlFile(sqlPath, database = info.database) {
      const result = await execa(bin('psql'), ['--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${database}`, `--file=${sqlPath}`], {
        env,
        extendEnv: false,
        reject: false,
        stdout: 'ignore',
      });
      if (result.exitCode !== 0) {
        throw new RestoreError(`psql into ${describeConnection(info)} failed (exit ${result.exitCode}): ${tailOf(result.stderr)}`, {
          hint: 'psql stopped at the first error (ON_ERROR_STOP); restore into an empty database',
        });
      }
    },
  };
}

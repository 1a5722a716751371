import { describeConnection, libpqEnv, pgBinary, runPgRestore, runPgTool, type ConnectionInfo } from '../pgtools/index.ts';
import { RestoreError } from '../errors/index.ts';
import type { Sandbox } from '../sandbox/index.ts';

/** What a restore needs of where it restores to: a sandbox, or an existing database. */
export type RestoreTarget = Pick<Sandbox, 'connectionUri' | 'pgRestore' | 'psqlFile'> & { readonly description: string };

export interface DatabaseTargetOptions {
  /** pg_restore / psql directory (default: PATH). */
  binDir?: string;
  /** Aborting kills the running pg_restore / psql; the call rejects with the abort reason. */
  signal?: AbortSignal;
}

/**
 * An existing database (`pgdrill restore --target-db`) given by its URL and that URL parsed (with
 * its connect timeout), restored with the host's pg_restore / psql; the password goes through the
 * environment.
 */
export function createDatabaseTarget(url: string, info: ConnectionInfo, options: DatabaseTargetOptions = {}): RestoreTarget & { info: ConnectionInfo } {
  const { binDir, signal } = options;
  const env = libpqEnv(info);
  const where = `into ${describeConnection(info)}`;
  return {
    info,
    description: describeConnection(info),
    connectionUri(database = info.database) {
      const u = new URL(url);
      u.pathname = `/${encodeURIComponent(database)}`;
      return u.toString();
    },
    async pgRestore(archivePath, args) {
      await runPgRestore(pgBinary(binDir, 'pg_restore'), ['--no-password', `--dbname=${info.database}`, ...args, archivePath], {
        env,
        cancelSignal: signal,
        error: {
          as: RestoreError,
          context: where,
          hint: 'Read the pg_restore errors above; the target may be partly restored — restore into an empty database',
          incompleteHint: 'The target is partly restored: drop it and restore into an empty database',
        },
      });
    },
    async psqlFile(sqlPath, database = info.database) {
      await runPgTool(pgBinary(binDir, 'psql'), ['--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${database}`, `--file=${sqlPath}`], {
        env,
        cancelSignal: signal,
        error: { as: RestoreError, context: where, hint: 'psql stopped at the first error (ON_ERROR_STOP); restore into an empty database' },
      });
    },
  };
}

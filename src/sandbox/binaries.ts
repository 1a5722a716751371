// The PostgreSQL server and client binaries an embedded sandbox runs, resolved by pgtools
// (configured directory, Debian's versioned layout, or PATH) and checked to be new enough.
import { SandboxError } from '../errors/index.ts';
import { debianBinDir, DEBIAN_PG_ROOT, findPgBinDir, holdsPgTools, installedPgMajors, pgBinary, toolVersion, type PgToolName } from '../pgtools/index.ts';

export interface PostgresBinaries {
  /** Directory holding initdb, pg_ctl, postgres, pg_restore, psql (`''` when they come from PATH). */
  readonly binDir: string;
  /** Major version of these binaries (from `initdb --version`). */
  readonly major: number;
  /** Full version string, e.g. `15.14`. */
  readonly version: string;
  /** Absolute path (or bare name on PATH) of a binary in this set. */
  bin(name: PostgresBinary): string;
}

export type PostgresBinary = Exclude<PgToolName, 'pg_dumpall'>;

const versionOf = (initdb: string) => toolVersion(initdb).catch(() => undefined);

function makeBinaries(binDir: string, major: number, version: string): PostgresBinaries {
  return { binDir, major, version, bin: (name) => pgBinary(binDir, name) };
}

const installHint = (major: number): string =>
  `Install postgresql-${major} (e.g. \`apt-get install postgresql-${major}\`) or set sandbox.binDir to a directory holding initdb, pg_ctl, postgres, pg_restore and psql`;

/**
 * Picks the binaries for a wanted major: `binDir` if given; else `/usr/lib/postgresql/{major}/bin`;
 * else the newest installed major >= wanted there; else initdb on PATH if it is new enough.
 * A newer server restores an older dump; an older one cannot be trusted to, so it is refused.
 */
export async function findPostgresBinaries(major: number, binDir?: string, root: string = DEBIAN_PG_ROOT): Promise<PostgresBinaries> {
  if (binDir) {
    if (!(await holdsPgTools(binDir, 'server'))) {
      throw new SandboxError(`Embedded sandbox: no executable initdb in sandbox.binDir ${binDir}`, { hint: installHint(major) });
    }
    const found = await toolVersion(pgBinary(binDir, 'initdb'), { as: SandboxError, context: `in sandbox.binDir ${binDir}`, hint: installHint(major) });
    return makeBinaries(binDir, found.major, found.version);
  }

  const dir = await findPgBinDir(major, { need: 'server', root });
  if (dir !== undefined) {
    const found = await versionOf(pgBinary(dir, 'initdb'));
    if (found) return makeBinaries(dir, found.major, found.version);
  }

  const onPath = await versionOf('initdb');
  if (onPath && onPath.major >= major) return makeBinaries('', onPath.major, onPath.version);

  const majors = await installedPgMajors('server', root);
  const seen = [...majors.map((m) => `${m} (${debianBinDir(m, root)})`), ...(onPath ? [`${onPath.version} (PATH)`] : [])];
  const detail = seen.length
    ? `only older PostgreSQL found: ${seen.join(', ')}; a dump from ${major} needs a server of version ${major} or newer`
    : `initdb not found in ${debianBinDir(major, root)} nor on PATH`;
  throw new SandboxError(`Embedded sandbox for PostgreSQL ${major}: ${detail}`, { hint: installHint(major) });
}

// Finds the PostgreSQL server and client binaries an embedded sandbox runs: an explicit
// directory, Debian's /usr/lib/postgresql/{major}/bin (or the newest newer major there), or PATH.
import { access, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { SandboxError } from '../errors/index.ts';

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

export type PostgresBinary = 'initdb' | 'pg_ctl' | 'postgres' | 'pg_restore' | 'psql' | 'pg_dump';

/** Root of Debian/Ubuntu's versioned PostgreSQL installs. Overridable for tests. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Parses `initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` → { major: 15, version: '15.14' }. */
export function parseVersionOutput(output: string): { major: number; version: string } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!match?.[1]) return undefined;
  const major = Number(match[1]);
  return { major, version: match[2] === undefined ? String(major) : `${major}.${match[2]}` };
}

async function versionOf(initdb: string): Promise<{ major: number; version: string } | undefined> {
  const result = await execa(initdb, ['--version'], { reject: false, timeout: 10_000 });
  if (result.exitCode !== 0) return undefined;
  return parseVersionOutput(result.stdout);
}

function makeBinaries(binDir: string, major: number, version: string): PostgresBinaries {
  return {
    binDir,
    major,
    version,
    bin: (name) => (binDir === '' ? name : path.join(binDir, name)),
  };
}

/** Majors installed under /usr/lib/postgresql that have an initdb, newest first. */
async function installedMajors(root: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const majors: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    if (await isExecutable(path.join(root, entry, 'bin', 'initdb'))) majors.push(Number(entry));
  }
  return majors.sort((a, b) => b - a);
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
    const initdb = path.join(binDir, 'initdb');
    if (!(await isExecutable(initdb))) {
      throw new SandboxError(`Embedded sandbox: no executable initdb in sandbox.binDir ${binDir}`, { hint: installHint(major) });
    }
    const found = await versionOf(initdb);
    if (!found) throw new SandboxError(`Embedded sandbox: \`${initdb} --version\` failed`, { hint: installHint(major) });
    return makeBinaries(binDir, found.major, found.version);
  }

  const majors = await installedMajors(root);
  const chosen = majors.includes(major) ? major : majors.find((m) => m >= major);
  if (chosen !== undefined) {
    const dir = path.join(root, String(chosen), 'bin');
    const found = await versionOf(path.join(dir, 'initdb'));
    if (found) return makeBinaries(dir, found.major, found.version);
  }

  const onPath = await versionOf('initdb').catch(() => undefined);
  if (onPath && onPath.major >= major) return makeBinaries('', onPath.major, onPath.version);

  const seen = [...majors.map((m) => `${m} (${root}/${m}/bin)`), ...(onPath ? [`${onPath.version} (PATH)`] : [])];
  const detail = seen.length
    ? `only older PostgreSQL found: ${seen.join(', ')}; a dump from ${major} needs a server of version ${major} or newer`
    : `initdb not found in ${root}/${major}/bin nor on PATH`;
  throw new SandboxError(`Embedded sandbox for PostgreSQL ${major}: ${detail}`, { hint: installHint(major) });
}

// Where the PostgreSQL tools for a server major live: an explicit directory, Debian/Ubuntu's
// versioned /usr/lib/postgresql/{major}/bin (or the newest newer major there), or PATH. The one
// place that knows that layout.
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Root of Debian/Ubuntu's versioned PostgreSQL installs. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

export type PgToolName = 'initdb' | 'pg_ctl' | 'postgres' | 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

/** `client`: pg_dump, pg_dumpall, pg_restore, psql (postgresql-client-N); `server`: also initdb, pg_ctl, postgres. */
export type PgToolSet = 'client' | 'server';

/** A directory counts as an install of a set when these are executable in it. */
const PROBES: Record<PgToolSet, readonly PgToolName[]> = {
  client: ['pg_dump', 'pg_restore', 'psql'],
  server: ['initdb'],
};

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `{root}/{major}/bin`. */
export function debianBinDir(major: number, root: string = DEBIAN_PG_ROOT): string {
  return path.join(root, String(major), 'bin');
}

/** Whether `dir` holds the set's tools, executable. */
export async function holdsPgTools(dir: string, need: PgToolSet): Promise<boolean> {
  const present = await Promise.all(PROBES[need].map((name) => isExecutable(path.join(dir, name))));
  return present.every(Boolean);
}

/** Majors installed under `root` that hold the wanted set, newest first. */
export async function installedPgMajors(need: PgToolSet, root: string = DEBIAN_PG_ROOT): Promise<number[]> {
  const entries = await readdir(root).catch(() => [] as string[]);
  const majors: number[] = [];
  for (const entry of entries) {
    if (/^\d+$/.test(entry) && (await holdsPgTools(debianBinDir(Number(entry), root), need))) majors.push(Number(entry));
  }
  return majors.sort((a, b) => b - a);
}

export interface FindPgBinDirOptions {
  /** Configured directory (sandbox.binDir, PGDRILL_PG_BINDIR): used as is. */
  binDir?: string;
  need: PgToolSet;
  /** Overridable for tests. */
  root?: string;
}

/**
 * The bin directory for tools working with server major `major`: `binDir` if given; else
 * `{root}/{major}/bin`; else the newest installed major above it (a newer pg_dump dumps an older
 * server and a newer pg_restore/server reads an older dump, never the reverse); else undefined,
 * meaning the tools on PATH.
 */
export async function findPgBinDir(major: number, options: FindPgBinDirOptions): Promise<string | undefined> {
  if (options.binDir) return options.binDir;
  const majors = await installedPgMajors(options.need, options.root);
  const chosen = majors.includes(major) ? major : majors.find((m) => m > major);
  return chosen === undefined ? undefined : debianBinDir(chosen, options.root);
}

/** A tool in `binDir`, or its bare name (looked up on PATH) when there is none. */
export function pgBinary(binDir: string | undefined, name: PgToolName): string {
  return binDir ? path.join(binDir, name) : name;
}

import { open } from 'node:fs/promises';
import type { TableRef } from '../inspect/index.ts';
import { ConfigError, IntegrityError } from '../errors/index.ts';
import { findPgBinDir, pgBinary, pgToolError, runPgTool } from '../pgtools/index.ts';

// What is inside a decrypted backup, read without restoring it: `pg_restore --list` for custom
// archives, the pg_dump completion trailer for plain SQL. Used by `restore --dry-run` and `verify`.

/**
 * Directory with pg_restore and psql for a dump taken from server major `major` (PGDRILL_PG_BINDIR,
 * else that major's or a newer one's client tools, see findPgBinDir); undefined means PATH.
 */
export function restoreClientBinDir(major: number, binDir?: string): Promise<string | undefined> {
  return findPgBinDir(major, { binDir, need: 'client' });
}

/** One table-of-contents entry of a custom-format archive. */
export interface ArchiveEntry {
  /** The entry's dump id (the first field; pg_restore's errors name entries by it). */
  id: number;
  /** e.g. `TABLE`, `TABLE DATA`, `ACL`, `FK CONSTRAINT`, … followed by schema, name, owner. */
  text: string;
  /** Last field of the line: the owning role ('' when the entry has none). */
  owner: string;
}

export interface ArchiveListing {
  /** Entries pg_restore would process with the given selection. */
  entries: ArchiveEntry[];
  /** `TABLE` entries (table definitions, partitioned parents included). */
  tableDefinitions: number;
  /** `TABLE DATA` entries. */
  tableData: number;
  /** Roles owning the listed entries. */
  owners: Set<string>;
}

const ENTRY_LINE = /^(\d+); \d+ \d+ (.*)$/;

/** Parses `pg_restore --list` output. */
export function parseArchiveListing(stdout: string): ArchiveListing {
  const entries: ArchiveEntry[] = [];
  for (const line of stdout.split('\n')) {
    const match = ENTRY_LINE.exec(line);
    if (!match) continue;
    const text = match[2]!;
    entries.push({ id: Number(match[1]), text, owner: text.endsWith(' ') ? '' : (text.split(' ').at(-1) ?? '') });
  }
  const isDefinition = (e: ArchiveEntry) => e.text.startsWith('TABLE ') && !e.text.startsWith('TABLE DATA ') && !e.text.startsWith('TABLE ATTACH ');
  return {
    entries,
    tableDefinitions: entries.filter(isDefinition).length,
    tableData: entries.filter((e) => e.text.startsWith('TABLE DATA ')).length,
    owners: new Set(entries.map((e) => e.owner).filter(Boolean)),
  };
}

/** Whether the listing holds a table definition (`TABLE schema name owner`) for the table. */
export function listingHasTable(listing: ArchiveListing, table: TableRef): boolean {
  const prefix = `TABLE ${table.schema} ${table.name} `;
  return listing.entries.some((e) => e.text.startsWith(prefix));
}

/**
 * `pg_restore --list` of a local custom-format archive, optionally with selection arguments
 * (`--schema/--table`, `--section`, `--schema-only`, …) so it lists what a restore would do. An
 * archive pg_restore cannot read, or one without entries, is an IntegrityError.
 */
export async function listArchive(archivePath: string, options: { binDir?: string; args?: readonly string[]; label?: string } = {}): Promise<ArchiveListing> {
  const binary = pgBinary(options.binDir, 'pg_restore');
  const label = options.label ?? 'the archive';
  const args = (options.args ?? []).filter((a) => !a.startsWith('--jobs') && a !== '--no-password');
  const { stdout, failure } = await runPgTool(binary, ['--list', ...args, archivePath], { command: 'pg_restore --list', stdout: 'keep', reject: false });
  if (failure) {
    // A missing or too old pg_restore says nothing about the archive: a setup error (exit 3).
    if (failure.notStarted || /unsupported version/i.test(failure.tail)) {
      throw pgToolError(failure, {
        as: ConfigError,
        context: `of ${label}`,
        hint: `${failure.notStarted ? `${binary} cannot be run` : `${binary} is older than the pg_dump that wrote the archive`}: install postgresql-client of the dump's major version or newer, or set PGDRILL_PG_BINDIR to its bin directory`,
      });
    }
    throw pgToolError(failure, {
      as: IntegrityError,
      context: `of ${label}`,
      hint: 'The archive matched its checksums, so check that pg_restore is at least as new as the pg_dump that wrote it (PGDRILL_PG_BINDIR)',
    });
  }
  const listing = parseArchiveListing(stdout);
  if (listing.entries.length === 0 && args.length === 0) {
    throw new IntegrityError(`pg_restore --list found no entries in ${label}`, { hint: 'Restore from another backup' });
  }
  return listing;
}

/** pg_dump writes this as its last comment; pg_dumpall --roles-only ends with the cluster variant. */
export const PLAIN_DUMP_TRAILER = '-- PostgreSQL database dump complete';
export const GLOBALS_TRAILER = '-- PostgreSQL database cluster dump complete';

/**
 * A plain SQL dump is complete when it is non-empty and its tail carries pg_dump's completion
 * comment (a dump cut short never gets it). Reads only the last few KiB.
 */
export async function checkPlainDump(file: string, options: { trailer?: string; label?: string } = {}): Promise<{ bytes: number }> {
  const trailer = options.trailer ?? PLAIN_DUMP_TRAILER;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new IntegrityError(`${options.label ?? file} is empty`, { hint: 'Restore from another backup' });
    const length = Math.min(size, 4096);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    if (!tail.toString('utf8').includes(trailer)) {
      throw new IntegrityError(`${options.label ?? file} does not end with "${trailer}": the dump is incomplete`, { hint: 'Restore from another backup' });
    }
    return { bytes: size };
  } finally {
    await handle.close();
  }
}

import { rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';
import type { Keyring } from '../crypto/index.ts';
import { type BackupManifest } from '../catalog/index.ts';
import { parseTableName } from '../inspect/index.ts';
import { ConfigError } from '../errors/index.ts';
import { registerCleanup } from '../lifecycle/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { fillArchiveOffsets } from './archive-offsets.ts';
import { createFetchFolder, fetchObject, type FetchTimings } from './fetch.ts';
import { filterGlobals } from './globals.ts';
import type { RestoreTarget } from './target.ts';

export interface RestoreSelection {
  /** Only these tables (`schema.table`); custom format only. */
  tables?: readonly string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
  noOwner?: boolean;
  /** Apply the captured role globals first (roles that already exist are left alone). */
  withGlobals: boolean;
  /** pg_restore --jobs (custom format, from a local file). */
  jobs: number;
}

export interface RestoreTimings extends FetchTimings {
  restoreMs: number;
}

export interface FetchedBackup {
  dumpPath: string;
  globalsPath?: string;
  /** SHA-256 of the bytes actually downloaded and of the decrypted dump (equal to the manifest's, or fetch failed). */
  verified: { storedSha256: string; plaintextSha256: string };
  timings: FetchTimings;
  /** Removes the local plaintext and downloaded files. */
  cleanup(): Promise<void>;
}

/** Downloads, verifies, decrypts and decompresses a backup's objects into a private temp dir. */
export async function fetchBackup(options: {
  storage: BackupStorage;
  manifest: BackupManifest;
  keyring: Keyring | null;
  withGlobals?: boolean;
  signal?: AbortSignal;
}): Promise<FetchedBackup> {
  const globalsObject = options.withGlobals !== false ? options.manifest.objects.globals : undefined;
  const workDir = await createFetchFolder(options.manifest, [options.manifest.objects.dump, ...(globalsObject ? [globalsObject] : [])]);
  // The plaintext is personal data: removed on cleanup, and on a signal or at process exit if
  // cleanup never ran.
  const cleanup = async () => {
    unregister();
    await rm(workDir, { recursive: true, force: true });
  };
  const unregister = registerCleanup({
    kind: 'temp folder(s)',
    label: workDir,
    run: cleanup,
    runSync: () => rmSync(workDir, { recursive: true, force: true }),
  });
  try {
    const common = { storage: options.storage, manifest: options.manifest, keyring: options.keyring, workDir, signal: options.signal };
    const dump = await fetchObject({ ...common, object: options.manifest.objects.dump, name: options.manifest.format === 'custom' ? 'backup.dump' : 'backup.sql' });
    // Verified above; now give pg_restore --jobs the data offsets a piped pg_dump could not write.
    if (options.manifest.format === 'custom') fillArchiveOffsets(dump.path);
    const globals = globalsObject ? await fetchObject({ ...common, object: globalsObject, name: 'globals.sql' }) : undefined;
    return {
      dumpPath: dump.path,
      globalsPath: globals?.path,
      verified: { storedSha256: dump.storedSha256, plaintextSha256: dump.plaintextSha256 },
      timings: {
        downloadMs: dump.timings.downloadMs + (globals?.timings.downloadMs ?? 0),
        decryptMs: dump.timings.decryptMs + (globals?.timings.decryptMs ?? 0),
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** pg_restore arguments for a selection. */
export function pgRestoreArgs(manifest: BackupManifest, selection: RestoreSelection): string[] {
  const args = ['--no-password'];
  if (selection.jobs > 1) args.push(`--jobs=${selection.jobs}`);
  if (selection.noOwner) args.push('--no-owner');
  if (selection.schemaOnly) args.push('--schema-only');
  if (selection.dataOnly) args.push('--data-only');
  for (const name of selection.tables ?? []) {
    const table = parseTableName(name);
    args.push(`--schema=${table.schema}`, `--table=${table.name}`);
  }
  if (manifest.format !== 'custom' && args.length > 1) {
    throw new ConfigError(`Backup ${manifest.id} is a plain SQL dump: --tables, --schema-only, --data-only, --no-owner and --jobs need a custom-format backup`, {
      hint: 'Restore it whole, or take custom-format backups (the default)',
    });
  }
  return args;
}

/** Restores fetched files into a target: role globals first, then the dump. */
export async function restoreFetched(options: {
  target: RestoreTarget;
  manifest: BackupManifest;
  fetched: FetchedBackup;
  selection: RestoreSelection;
  database?: string;
}): Promise<{ restoreMs: number }> {
  const { target, manifest, fetched, selection } = options;
  const args = pgRestoreArgs(manifest, selection);
  const started = Date.now();
  if (selection.withGlobals && fetched.globalsPath) {
    const client = new pg.Client({ connectionString: target.connectionUri(options.database) });
    await client.connect();
    const existing = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles').finally(() => client.end());
    const filtered = `${fetched.globalsPath}.filtered.sql`;
    await writeFile(filtered, filterGlobals(await readFile(fetched.globalsPath, 'utf8'), new Set(existing.rows.map((r) => r.rolname))), { mode: 0o600 });
    await target.psqlFile(filtered, options.database);
  }
  if (manifest.format === 'custom') await target.pgRestore(fetched.dumpPath, args);
  else await target.psqlFile(fetched.dumpPath, options.database);
  return { restoreMs: Date.now() - started };
}

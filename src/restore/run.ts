import { pipeline, Transform, type Readable } from 'node:stream';
import pg from 'pg';
import type { PgdrillConfig } from '../config/index.ts';
import { listBackups, selectBackup, type BackupManifest, type BackupSelector, type CatalogEntry, type TableCount } from '../catalog/index.ts';
import { missingKeyError, type Keyring } from '../crypto/index.ts';
import { describeConnection, endSessionOnAbort, parseDatabaseUrl, pgClientConfig, type ConnectionInfo } from '../pgtools/index.ts';
import { ConfigError, CryptoError, IntegrityError, PgdrillError, RestoreError, StorageError } from '../errors/index.ts';
import { compareExtensions, compareRecordCounts, describeExtensions, displayName, qualifiedName, type RecordCountComparison, type TableRef } from '../inspect/index.ts';
import { wrapStorage, type BackupStorage } from '../storage/index.ts';
import { applyRestore } from './apply.ts';
import { checkPlainDump, listArchive, listingHasTable, restoreClientBinDir, type ArchiveListing } from './archive.ts';
import { inspectTarget, restoreGuards, rolesReferenced, type GuardFinding, type TargetState } from './guards.ts';
import { manifestForSelection, needsSkeleton, type RestorePlan } from './plan.ts';
import { fetchBackup, pgRestoreArgs, type FetchedBackup, type RestoreSelection } from './restore.ts';
import { createDatabaseTarget } from './target.ts';

// `pgdrill restore` as a library: planRestore() chooses the backup, inspects the target (read-only)
// and lists what the guards object to; executeRestore() downloads, verifies, decrypts, restores and
// compares record counts, reporting each step through callbacks. The command, the service and the
// API all go through these two functions.

export interface RestoreRequest {
  config: PgdrillConfig;
  storage: BackupStorage;
  selector: BackupSelector;
  /** The database to restore into; undefined only for a dry run. */
  targetUrl?: string;
  /** Where targetUrl came from, for messages (`--target-db` or `DATABASE_URL`). */
  targetSource?: string;
  /** Named tables, or undefined for the whole database. */
  tables?: TableRef[];
  selection: Omit<RestoreSelection, 'tables'>;
  /** Whether `selection.jobs` was asked for explicitly (a plain dump then refuses it). */
  jobsGiven: boolean;
  dryRun: boolean;
  keyring: Keyring | null;
  /** Aborting ends the target inspection at once (the command's interrupt signal). */
  signal?: AbortSignal;
}

export interface PlannedRestore extends RestorePlan {
  dryRun: boolean;
  /** The target as given (its password only ever comes from PGPASSWORD or ~/.pgpass). */
  targetUrl?: string;
  /** Why the guards object to this target (needs --confirm); empty when none applies. */
  findings: GuardFinding[];
  /** Why a dry run could not inspect its target (then it goes on without one). */
  targetProblem?: string;
}

/** The key the backup needs is present, before anything is downloaded. */
export function checkKey(manifest: BackupManifest, keyring: Keyring | null): void {
  const enc = manifest.encryption;
  if (enc.algorithm === 'none') return;
  if (!keyring) throw missingKeyError([{ id: manifest.id, keyId: enc.keyId }]);
  if (!keyring.keys.has(enc.keyId)) {
    throw new CryptoError('UNKNOWN_KEY', `backup ${manifest.id} is encrypted with key ${enc.keyId}, which is not in PGDRILL_ENCRYPTION_KEYS (${[...keyring.keys.keys()].join(', ')})`, {
      hint: `Add key ${enc.keyId} from the key escrow after the active key: PGDRILL_ENCRYPTION_KEYS=new:…,${enc.keyId}:…`,
    });
  }
}

/** How a backup choice reads in messages: `the newest full backup`, `key …`. */
export function describeSelector(selector: BackupSelector): string {
  if (selector.key) return `key ${selector.key}`;
  if (selector.monthly) return `the full monthly backup of ${selector.monthly}`;
  if (selector.date) return `a full backup taken on ${selector.date} (UTC)`;
  return 'the newest full backup';
}

/**
 * Chooses the backup, checks the selection and the key against it, inspects the target read-only
 * and runs the guards. Changes nothing. Throws ConfigError / StorageError for what cannot work.
 */
export async function planRestore(request: RestoreRequest): Promise<PlannedRestore> {
  const { config, storage, selector, tables } = request;
  const target: ConnectionInfo | undefined = request.targetUrl
    ? parseDatabaseUrl(request.targetUrl, request.targetSource, {
        defaultConnectTimeout: { seconds: config.backup.connectTimeoutSeconds, from: 'backup.connectTimeoutSeconds' },
      })
    : undefined;
  const catalog = await listBackups(storage, config.storage.prefix);
  const entry: CatalogEntry | undefined = selectBackup(catalog, selector);
  if (!entry) {
    throw new StorageError(`No valid backup matches ${describeSelector(selector)} in ${storage.location}`, {
      hint: `List what exists with \`pgdrill restore --list\`${catalog.invalid.length ? ` (${catalog.invalid.length} manifest(s) are invalid)` : ''}; a partial backup (--tables, --schema-only, --exclude-table) is restored only by --key`,
    });
  }
  const manifest = entry.manifest;
  let selection: RestoreSelection = { ...request.selection, tables: tables?.map(qualifiedName) };
  // psql restores a plain dump in one stream: the default --jobs does not apply (an explicit one is an error).
  if (manifest.format !== 'custom' && !request.jobsGiven) selection = { ...selection, jobs: 1 };
  pgRestoreArgs(manifest, selection); // plain-format restrictions: a ConfigError before anything is downloaded
  checkKey(manifest, request.keyring);

  // Read-only look at the target; a dry run goes on without one.
  let targetState: TargetState | undefined;
  let targetProblem: string | undefined;
  if (target) {
    try {
      targetState = await inspectTarget(target, request.signal);
    } catch (error) {
      if (!request.dryRun || request.signal?.aborted) throw error;
      targetProblem = `cannot inspect ${describeConnection(target)}: ${(error as Error).message}`;
    }
  }
  const findings =
    target && targetState
      ? restoreGuards({ target, targetState, sourceUrl: config.databaseUrl, manifest, productionPatterns: config.productionPatterns })
      : [];
  const skeleton = needsSkeleton(tables, selection, targetState);
  // pg_restore creates extensions with the schema (whole database or skeleton); a target without
  // one would fail part-way, so it is refused before anything is downloaded.
  const extensions =
    targetState && manifest.extensions && !selection.dataOnly && (!tables || skeleton) ? compareExtensions(manifest.extensions, targetState.extensions) : undefined;
  if (extensions && extensions.missing.length > 0 && !request.dryRun) {
    throw new ConfigError(
      `The target server ${describeConnection(target!)} (PostgreSQL ${targetState!.serverVersion}) does not offer extension(s) backup ${manifest.id} needs: ${describeExtensions(extensions.missing)}. Nothing was changed`,
      {
        hint: `Install ${extensions.missing.map((e) => e.name).join(', ')} on the target's server (its share/extension directory, e.g. the distribution package that ships ${extensions.missing.length === 1 ? 'it' : 'them'}) or restore into a cluster that has ${extensions.missing.length === 1 ? 'it' : 'them'}; --data-only, or --tables into an existing schema, creates no extension`,
      },
    );
  }
  return {
    entry,
    target,
    targetUrl: request.targetUrl,
    targetState,
    tables,
    selection,
    skeleton,
    dryRun: request.dryRun,
    findings,
    extensions,
    targetProblem,
  };
}

export type RestoreEvent =
  | { kind: 'downloading'; keys: string[]; location: string }
  | { kind: 'verified'; fetched: FetchedBackup }
  /** A named table holds no rows of its own in this backup (e.g. a partitioned parent). */
  | { kind: 'empty-table'; table: string; partitions: string[] }
  | { kind: 'archive'; listed: number; applied: ArchiveListing }
  | { kind: 'plain-archive'; bytes: number }
  | { kind: 'roles'; missing: string[]; willCreate: boolean; hint?: string }
  | { kind: 'restoring'; where: string }
  | { kind: 'restored'; restoreMs: number };

export type RestoreResult =
  | { dryRun: true; tables: TableCount[] }
  | { dryRun: false; restoreMs: number; comparison: RecordCountComparison };

export interface ExecuteRestoreOptions {
  storage: BackupStorage;
  keyring: Keyring | null;
  config: PgdrillConfig;
  signal?: AbortSignal;
  /** Bytes downloaded so far and since when, at most every 250 ms. */
  onDownloadProgress?: (bytes: number, elapsedMs: number) => void;
  onEvent?: (event: RestoreEvent) => void;
  /** Called with the record-count comparison before a difference is thrown as an IntegrityError. */
  onCounts?: (comparison: RecordCountComparison) => void;
}

/** The same storage, reporting download progress (bytes read so far) at most every 250 ms. */
function countingDownloads(storage: BackupStorage, onBytes: (bytes: number, elapsedMs: number) => void): BackupStorage {
  const started = Date.now();
  let bytes = 0;
  let reported = 0;
  return wrapStorage(storage, {
    async get(key, callOptions) {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          if (Date.now() - reported >= 250) {
            reported = Date.now();
            onBytes(bytes, reported - started);
          }
          callback(null, chunk);
        },
      });
      return pipeline(await storage.get(key, callOptions), counter, () => {}) as Readable;
    },
  });
}

function merge(a: ArchiveListing, b: ArchiveListing | undefined): ArchiveListing {
  if (!b) return a;
  return {
    entries: [...a.entries, ...b.entries],
    tableDefinitions: a.tableDefinitions + b.tableDefinitions,
    tableData: a.tableData + b.tableData,
    owners: new Set([...a.owners, ...b.owners]),
  };
}

/**
 * Downloads, verifies and decrypts the planned backup (only a fully verified file is restored),
 * reads its table of contents, checks the roles it needs, then (unless a dry run) restores it into
 * the target and compares record counts with the manifest: an IntegrityError (exit 4) on a difference.
 */
export async function executeRestore(plan: PlannedRestore, options: ExecuteRestoreOptions): Promise<RestoreResult> {
  const { keyring, config, signal } = options;
  const storage = options.onDownloadProgress ? countingDownloads(options.storage, options.onDownloadProgress) : options.storage;
  const emit = options.onEvent ?? (() => {});
  const { manifest } = plan.entry;
  const { selection, tables } = plan;
  const stopIfInterrupted = (): void => {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new RestoreError('Interrupted');
  };
  let fetched: FetchedBackup | undefined;
  try {
    const withGlobals = selection.withGlobals && manifest.objects.globals !== undefined;
    emit({ kind: 'downloading', keys: [manifest.objects.dump.key, ...(withGlobals ? [manifest.objects.globals!.key] : [])], location: storage.location });
    fetched = await fetchBackup({ storage, manifest, keyring, withGlobals: selection.withGlobals, signal });
    emit({ kind: 'verified', fetched });

    const binDir = await restoreClientBinDir(manifest.serverMajor, config.backup.binDir);
    let listing: ArchiveListing | undefined;
    if (manifest.format === 'custom') {
      const full = await listArchive(fetched.dumpPath, { binDir, label: manifest.objects.dump.key });
      for (const table of tables ?? []) {
        if (!listingHasTable(full, table)) {
          throw new ConfigError(`Table ${displayName(table)} is not in backup ${manifest.id}`, {
            hint: `Tables in this backup: ${manifest.tables.map(displayName).join(', ')}`,
          });
        }
        if (!manifest.tables.some((t) => displayName(t) === displayName(table))) {
          const partitions = manifest.tables.filter((t) => t.schema === table.schema && t.name.startsWith(`${table.name}_`)).map(displayName);
          emit({ kind: 'empty-table', table: displayName(table), partitions });
        }
      }
      const args = pgRestoreArgs(manifest, selection);
      listing = plan.skeleton
        ? merge(
            await listArchive(fetched.dumpPath, { binDir, args: ['--section=pre-data'] }),
            selection.schemaOnly ? undefined : await listArchive(fetched.dumpPath, { binDir, args: [...args, '--section=data'] }),
          )
        : await listArchive(fetched.dumpPath, { binDir, args });
      emit({ kind: 'archive', listed: full.entries.length, applied: listing });
    } else {
      const { bytes } = await checkPlainDump(fetched.dumpPath, { label: manifest.objects.dump.key });
      emit({ kind: 'plain-archive', bytes });
    }

    if (plan.targetState && listing) {
      // A skeleton restores every table's grants, not only the named tables'.
      const needed = rolesReferenced({ manifest, listing, tables: plan.skeleton ? undefined : tables, noOwner: selection.noOwner, dataOnly: selection.dataOnly });
      const missing = [...needed].filter((role) => !plan.targetState!.roles.has(role)).sort();
      if (missing.length > 0 && !withGlobals) {
        const hint = 'Pass --with-roles to create them from the roles captured with the backup, or create them first; --no-owner drops ownership (privileges still name roles)';
        if (!plan.dryRun) {
          throw new ConfigError(`The target cluster lacks role(s) this restore assigns ownership or privileges to: ${missing.join(', ')}. Nothing was changed`, { hint });
        }
        emit({ kind: 'roles', missing, willCreate: false, hint });
      } else if (missing.length > 0) {
        emit({ kind: 'roles', missing, willCreate: true });
      }
    }

    if (plan.dryRun) return { dryRun: true, tables: manifestForSelection(manifest, { tables, schemaOnly: selection.schemaOnly }).tables };

    const target = plan.target!;
    const where = describeConnection(target);
    stopIfInterrupted();
    emit({ kind: 'restoring', where });
    let restoreMs: number;
    try {
      // The signal kills pg_restore / psql: a restore stopped there leaves the target partly restored.
      const databaseTarget = createDatabaseTarget(plan.targetUrl!, target, { binDir, signal });
      ({ restoreMs } = await applyRestore({ target: databaseTarget, manifest, fetched, selection, skeleton: plan.skeleton }));
    } catch (error) {
      stopIfInterrupted();
      if (error instanceof PgdrillError) throw error;
      throw new RestoreError(`Restore into ${where} failed: ${(error as Error).message}`, {
        hint: 'The target may be partly restored; drop it and restore into an empty database',
        cause: error,
      });
    }
    stopIfInterrupted();
    emit({ kind: 'restored', restoreMs });
    // The plaintext is not kept while counting.
    await fetched.cleanup();
    fetched = undefined;

    const db = new pg.Client(pgClientConfig(target));
    const stopWatchingSignal = endSessionOnAbort(db, target, signal);
    let comparison: RecordCountComparison;
    try {
      await db.connect();
      comparison = await compareRecordCounts(db, manifestForSelection(manifest, { tables, schemaOnly: selection.schemaOnly }), config.drill.recordCountTolerance);
    } catch (error) {
      stopIfInterrupted();
      throw error;
    } finally {
      stopWatchingSignal();
      await db.end().catch(() => {});
    }
    options.onCounts?.(comparison);
    if (comparison.status === 'fail') {
      throw new IntegrityError(`Verification failed after restoring ${manifest.id} into ${where}: ${comparison.summary}`, {
        hint: 'The restored data does not match the backup snapshot; do not put this database into service before finding out why',
      });
    }
    return { dryRun: false, restoreMs, comparison };
  } finally {
    await fetched?.cleanup();
  }
}

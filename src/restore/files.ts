import { contentKey, listBackups, selectBackup, type BackupSelector, type CatalogEntry, type FileSetRecord } from '../catalog/index.ts';
import type { FileSetConfig, PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { ConfigError, PgdrillError, StorageError } from '../errors/index.ts';
import { fetchFileManifest, localEntries, manifestFormat, openFileLocation, readContent, scratchFolder, type FileEntry } from '../files/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import type { GuardFinding } from './guards.ts';
import { checkKey, describeSelector } from './run.ts';

// `pgdrill restore --files NAME --to LOCATION` as a library: planFileRestore() chooses the backup
// and its file set, looks at the target (read-only) and lists what the guards object to;
// executeFileRestore() fetches the verified file manifest and writes every file back, each content
// verified (decrypted, hashed against the manifest) before it is published under its key.

export interface FileRestoreRequest {
  config: PgdrillConfig;
  storage: BackupStorage;
  selector: BackupSelector;
  /** The file set's name (`--files`). */
  name: string;
  /** Where the files go (`--to`): a folder or s3://bucket/prefix (the set's S3 endpoint and credentials). */
  to: string;
  dryRun: boolean;
  keyring: Keyring | null;
  signal?: AbortSignal;
}

export interface PlannedFileRestore {
  entry: CatalogEntry;
  record: FileSetRecord;
  /** The open target; closed by executeFileRestore (or closeFileRestore when not executed). */
  target: BackupStorage;
  dryRun: boolean;
  /** The first key already in the target, if any. */
  existingKey?: string;
  /** Why writing into this target needs --confirm: it holds files, or it is the set's live source. */
  findings: GuardFinding[];
}

/** Chooses backup and file set, checks the key, looks at the target. Changes nothing. */
export async function planFileRestore(request: FileRestoreRequest): Promise<PlannedFileRestore> {
  const { config, storage, selector, name } = request;
  const catalog = await listBackups(storage, config.storage.prefix);
  const entry = selectBackup(catalog, selector);
  if (!entry) {
    throw new StorageError(`No valid backup matches ${describeSelector(selector)} in ${storage.location}`, { hint: 'List what exists with `pgdrill restore --list`' });
  }
  const sets = entry.manifest.files ?? [];
  const record = sets.find((s) => s.name === name);
  if (!record) {
    throw new ConfigError(`Backup ${entry.manifest.id} has no file set "${name}"`, {
      hint: sets.length ? `Its file sets: ${sets.map((s) => s.name).join(', ')}` : 'It was taken without file sets (backup.files); choose another backup with --key or --date',
    });
  }
  checkKey(entry.manifest, request.keyring);
  // The set's S3 endpoint and credentials, if it is still configured; else the SDK's defaults.
  const configured: Pick<FileSetConfig, 'name' | 's3'> = config.backup.files.find((f) => f.name === name) ?? { name };
  const target = openFileLocation(request.to, configured, '--to', { signal: request.signal });
  try {
    const findings: GuardFinding[] = [];
    let existingKey: string | undefined;
    for await (const object of target.list('', { signal: request.signal })) {
      existingKey = object.key;
      break;
    }
    if (existingKey !== undefined) findings.push({ guard: 'not-empty', reason: `the target ${target.location} is not empty (it holds ${JSON.stringify(existingKey)}, …); files with the same keys would be overwritten` });
    if (target.location === record.source) findings.push({ guard: 'source', reason: `the target is the file set's own source ${record.source}` });
    return { entry, record, target, dryRun: request.dryRun, existingKey, findings };
  } catch (error) {
    await target.close();
    throw error;
  }
}

export type FileRestoreEvent =
  | { kind: 'manifest'; files: number; bytes: number }
  | { kind: 'progress'; files: number; bytes: number }
  /** Stopped by a failure after this many files were written. */
  | { kind: 'stopped'; files: number; bytes: number };

export interface FileRestoreResult {
  dryRun: boolean;
  /** Files written (dry run: files whose stored content is present). */
  files: number;
  bytes: number;
}

/** Files written (or checked) at once. */
const CONCURRENCY = 8;

/**
 * Fetches the verified file manifest, then writes every file to the target: each content is read,
 * decrypted and hashed against the manifest while it streams, and a file that does not verify is
 * never published (IntegrityError, exit 4, naming it). The first failure stops the restore. A dry
 * run checks that every stored content is present (else a StorageError, exit 2) and writes nothing.
 * Always closes the target.
 */
export async function executeFileRestore(
  plan: PlannedFileRestore,
  options: { storage: BackupStorage; config: PgdrillConfig; keyring: Keyring | null; signal?: AbortSignal; onEvent?: (event: FileRestoreEvent) => void },
): Promise<FileRestoreResult> {
  const { storage, keyring, signal } = options;
  const manifest = plan.entry.manifest;
  const { encrypted } = manifestFormat(manifest);
  const prefix = options.config.storage.prefix;
  const emit = options.onEvent ?? (() => {});
  const folder = await scratchFolder('restore-files');
  try {
    const file = await fetchFileManifest(storage, plan.record, manifest, keyring, folder.path, signal);
    emit({ kind: 'manifest', files: plan.record.files, bytes: plan.record.bytes });
    const done = { files: 0, bytes: 0 };
    const missing: string[] = [];
    let reported = Date.now();
    const restoreOne = async (entry: FileEntry): Promise<void> => {
      if (plan.dryRun) {
        if (!(await storage.head(contentKey(prefix, entry.sha256, encrypted), { signal }))) missing.push(entry.key);
      } else {
        const content = await readContent({ storage, prefix, keyring }, entry, encrypted, signal);
        await plan.target.put(entry.key, content, { signal });
      }
      done.files += 1;
      done.bytes += entry.size;
      if (Date.now() - reported > 1000) {
        reported = Date.now();
        emit({ kind: 'progress', ...done });
      }
    };
    const running = new Set<Promise<void>>();
    let failure: unknown;
    for await (const entry of localEntries(file, `${manifest.id}/${plan.record.name}`)) {
      if (failure) break;
      const job = restoreOne(entry).catch((error: unknown) => {
        failure ??= error;
      });
      running.add(job);
      void job.finally(() => running.delete(job));
      if (running.size >= CONCURRENCY) await Promise.race(running);
    }
    await Promise.all(running);
    if (failure) {
      emit({ kind: 'stopped', ...done });
      if (signal?.aborted || failure instanceof PgdrillError) throw failure;
      throw new StorageError(`Restoring file set "${plan.record.name}" to ${plan.target.location} failed: ${(failure as Error).message}`, { hint: 'Check the target and run again', cause: failure });
    }
    if (missing.length > 0) {
      throw new StorageError(`${missing.length} of ${plan.record.files} files of "${plan.record.name}" in backup ${manifest.id} have no stored content (${missing.slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}${missing.length > 5 ? ', …' : ''})`, {
        code: 'NOT_FOUND',
        hint: 'They cannot be restored from this backup; try an older backup (`pgdrill restore --list`) and investigate the storage',
      });
    }
    return { dryRun: plan.dryRun, ...done };
  } finally {
    await folder.remove();
    await plan.target.close();
  }
}

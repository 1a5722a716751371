// What pgdrill's commands do, as functions: each loads the configuration, opens the storage, runs
// one library function and closes what it opened. The CLI, the package's programmatic API (and a
// scheduler) call these, never copies of them. Heavy parts load on use: the drill's vitest and the
// report's Chromium driver only when a drill runs.
import { listBackups, type Catalog } from '../catalog/index.ts';
import { loadConfig, type PgdrillConfig, type PgdrillConfigInput } from '../config/index.ts';
import { loadKeyring } from '../crypto/index.ts';
import type { DrillOptions, DrillResult } from '../drill/index.ts';
import { runBackup, type BackupProgress, type BackupResult } from '../dump/index.ts';
import type { StoredDrillRecord } from '../evidence/index.ts';
import type { Notifier } from '../notify/index.ts';
import type { VerifyReport, VerifyResult } from '../restore/index.ts';
import type { DoctorFinding, MarkResult } from '../pitr/index.ts';
import { pruneBackups, type RetentionOutcome } from '../retention/index.ts';
import { openStorage, type BackupStorage } from '../storage/index.ts';

export { initProject, type InitResult } from './init.ts';

export interface OperationOptions {
  /** Config file (default: pgdrill.config.ts|mjs|js|json in `cwd`, or PGDRILL_CONFIG). */
  configFile?: string;
  /** Values above every other source, like command-line flags. */
  overrides?: PgdrillConfigInput;
  /** Aborting stops the work, cleans up what it made and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where the config file is looked for (default: the process's working directory). */
  cwd?: string;
}

async function withStorage<T>(options: OperationOptions, run: (config: PgdrillConfig, storage: BackupStorage) => Promise<T>): Promise<T> {
  const config = await loadConfig({ configFile: options.configFile, flags: options.overrides, cwd: options.cwd });
  const storage = openStorage(config, { signal: options.signal });
  try {
    return await run(config, storage);
  } finally {
    await storage.close();
  }
}

/** `pgdrill backup`: one backup, then retention unless `prune` is false. */
export function backup(
  options: OperationOptions & {
    /** The selection was narrowed by the caller (`--exclude-table`): the backup is partial. */
    narrowed?: boolean;
    prune?: boolean;
    onProgress?: (progress: BackupProgress) => void;
    /** Called once the backup is published, before retention runs (which may be interrupted). */
    onPublished?: (result: BackupResult) => void;
    log?: (line: string) => void;
  } = {},
): Promise<{ backup: BackupResult; retention: RetentionOutcome | null }> {
  return withStorage(options, async (config, storage) => {
    const result = await runBackup({
      config,
      storage,
      keyring: loadKeyring(config, 'write'),
      narrowed: options.narrowed,
      signal: options.signal,
      onProgress: options.onProgress,
      log: options.log,
    });
    options.onPublished?.(result);
    const retention = options.prune === false ? null : await pruneBackups(config, storage, { log: options.log });
    return { backup: result, retention };
  });
}

/** `pgdrill prune`: retention with the configured policy. */
export function prune(options: OperationOptions & { dryRun?: boolean; log?: (line: string) => void } = {}): Promise<RetentionOutcome> {
  return withStorage(options, (config, storage) => pruneBackups(config, storage, { dryRun: options.dryRun, log: options.log }));
}

/** The last drill that restored a backup (as the backup under test or as the older one proven). */
export interface LastDrill {
  drillId: string;
  at: string;
  verdict: 'PASS' | 'FAIL';
}

/** `pgdrill list`: the catalog and, per backup, its last drill. */
export function list(options: OperationOptions = {}): Promise<{ location: string; catalog: Catalog; lastDrill(id: string): LastDrill | null }> {
  return withStorage(options, async (config, storage) => {
    const catalog = await listBackups(storage, config.storage.prefix);
    const { readDrillHistory } = await import('../evidence/index.ts');
    const drills = await readDrillHistory(storage, config.storage.prefix, Number.MAX_SAFE_INTEGER, { onInvalid: () => {} });
    const lastDrill = (id: string): LastDrill | null => {
      const record = drills.findLast((d) => d.evidence.backup?.id === id || d.evidence.olderBackup?.id === id);
      if (!record) return null;
      const e = record.evidence;
      const verdict = e.backup?.id === id ? e.verdict : e.olderBackup!.status === 'pass' ? 'PASS' : 'FAIL';
      return { drillId: e.drillId, at: e.startedAt, verdict };
    };
    return { location: storage.location, catalog, lastDrill };
  });
}

/** The catalog and the latest drill records of one storage (the service's health snapshot reads them). */
export function catalogAndDrills(options: OperationOptions & { drills: number }): Promise<{ location: string; catalog: Catalog; drills: StoredDrillRecord[] }> {
  return withStorage(options, async (config, storage) => {
    const { readDrillHistory } = await import('../evidence/index.ts');
    return {
      location: storage.location,
      catalog: await listBackups(storage, config.storage.prefix),
      drills: await readDrillHistory(storage, config.storage.prefix, options.drills, { onInvalid: () => {} }),
    };
  });
}

/** What `verify` found: the report and, when nothing was verified or a backup failed, the error it ends with. */
export interface VerifyOutcome {
  location: string;
  report: VerifyReport;
  failure: Error | undefined;
}

/**
 * `pgdrill verify`: every backup (or those taken since `since`) downloaded, checked, decrypted and
 * listed; `onResult` sees each result first. `assertVerified` throws its failure (an IntegrityError,
 * exit 4). The restore modules load here, not with every command that imports the operations.
 */
export function verify(options: OperationOptions & { since?: string; onResult?: (result: VerifyResult) => void } = {}): Promise<VerifyOutcome> {
  return withStorage(options, async (config, storage) => {
    const { verificationFailure, verifyBackups } = await import('../restore/index.ts');
    const report = await verifyBackups({
      storage,
      catalog: await listBackups(storage, config.storage.prefix),
      keyring: loadKeyring(config, 'read'),
      since: options.since,
      binDir: config.backup.binDir,
      signal: options.signal,
      onResult: options.onResult,
    });
    return { location: storage.location, report, failure: verificationFailure(report, storage.location, options.since) };
  });
}

/** Throws the error a verification pass ended with (see `verify`), if any. */
export function assertVerified(outcome: VerifyOutcome): void {
  if (outcome.failure) throw outcome.failure;
}

/** `pgdrill pitr mark`: a marker row in the source's pgdrill.pitr_markers, then a WAL switch so it is archived now. */
export async function pitrMark(options: OperationOptions = {}): Promise<MarkResult> {
  const config = await loadConfig({ configFile: options.configFile, flags: options.overrides, cwd: options.cwd });
  const { connectSource, pitrConfigOf, writeMarker } = await import('../pitr/index.ts');
  pitrConfigOf(config);
  const { client } = await connectSource(config);
  try {
    return await writeMarker(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `pgdrill pitr doctor`: the source's archiving settings, the repository and `pgbackrest check`, each with what to change. */
export async function pitrCheckup(options: OperationOptions = {}): Promise<DoctorFinding[]> {
  const config = await loadConfig({ configFile: options.configFile, flags: options.overrides, cwd: options.cwd });
  const { pitrDoctor } = await import('../pitr/index.ts');
  return pitrDoctor(config);
}

/** `pgdrill drill`: the restore drill with vitest in `cwd` (the project), its evidence and report. */
export async function drill(options: DrillOptions & { notifier?: Notifier } = {}): Promise<DrillResult> {
  const { runDrill } = await import('../drill/index.ts');
  return runDrill(options);
}

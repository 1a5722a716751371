import os from 'node:os';
import pg from 'pg';
import type { DrillState, OlderBackupOutcome, RestoreOutcome } from '../check/index.ts';
import { loadConfig, type PgdrillConfig, type PgdrillConfigInput } from '../config/index.ts';
import { loadKeyring, type Keyring } from '../crypto/index.ts';
import { ARCHIVE_TIERS, backupSeries, listBackups, selectBackup, type BackupManifest, type BackupSelector, type Catalog, type CatalogEntry } from '../catalog/index.ts';
import { CryptoError, errorKind, IntegrityError, PgdrillError } from '../errors/index.ts';
import { IncompleteRestoreError } from '../pgtools/index.ts';
import { compareRecordCounts } from '../inspect/index.ts';
import { fetchBackup, listArchive, resolveRestoreErrors, restoreClientBinDir, restoreFetched } from '../restore/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import type { PitrPreparation, TargetRequest } from '../pitr/index.ts';
import { openStorage, type BackupStorage } from '../storage/index.ts';
import { verifyRetainedArchives } from './archive-verification.ts';
import { sandboxExtensions } from './sandbox-extensions.ts';
import { prepareFileSets } from './file-sets.ts';
import { restoreRedis } from './redis.ts';

export interface DrillOptions {
  configFile?: string;
  /** The project the drill runs in: config file, drills/, checks/ (default: the process's working directory). */
  cwd?: string;
  /** Config values above every other source (like command-line flags). */
  overrides?: PgdrillConfigInput;
  selector?: BackupSelector;
  /** Override config.sandbox.kind. */
  sandbox?: 'auto' | 'docker' | 'embedded';
  /** The drill's clock (tests: a drill "three days later"). Default: now. */
  now?: string;
  /** Verify every stored file content of the backup's file sets, not a sample (`pgdrill drill --full`). */
  full?: boolean;
  /**
   * Runs on the restored database before the checks (programmatic use only; e.g. pgdrill's own
   * tests inject faults here to prove the checks catch them).
   */
  afterRestore?: (sandboxUri: string) => Promise<void>;
  /**
   * A point-in-time drill of the configured pgBackRest repository instead of a dump drill: the
   * target asked for, and the plan runDrill makes from it before vitest starts.
   */
  pitr?: { target: TargetRequest; preparation?: PitrPreparation };
}

export interface PreparedDrill {
  state: DrillState;
  /** Stops sandboxes and removes local files. */
  teardown(): Promise<void>;
}

export function drillIdFor(startedAt: Date, database: string | undefined): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `drill-${stamp}${database ? `-${database.replace(/[^A-Za-z0-9._-]+/g, '_')}` : ''}`;
}

/** A drill's state before anything happened: nothing located, restored or checked yet. */
export function newDrillState(config: PgdrillConfig, drillId: string, startedAt: Date, now: Date): DrillState {
  return {
    drillId,
    startedAt: startedAt.toISOString(),
    now: now.toISOString(),
    catalog: [],
    invalidManifests: [],
    manifest: null,
    verified: { storedSha256: null, plaintextSha256: null },
    restore: { ok: false },
    sandbox: null,
    timings: { downloadMs: null, decryptMs: null, restoreMs: null, countMs: null },
    timeline: [],
    olderBackup: null,
    recordCounts: null,
    extensions: null,
    archiveVerification: null,
    firstFullBackupAt: null,
    fileSets: [],
    redis: null,
    config: { drill: config.drill, retention: config.retention, auditChain: config.backup.auditChain },
  };
}

/**
 * The drill before its checks: locate the backup, download and verify it, decrypt, start a fresh
 * sandbox, restore (globals, then the dump), and also prove an older backup restores. Failures are
 * recorded in the state rather than thrown, so the checks and the report can name them.
 */
export async function prepareDrill(options: DrillOptions = {}): Promise<PreparedDrill> {
  const config = await loadDrillConfig(options);
  const startedAt = new Date();
  const now = options.now ? new Date(options.now) : startedAt;
  const storage = openStorage(config);
  const cleanups: Array<() => Promise<unknown>> = [() => storage.close()];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  const mark = (step: string, detail?: string) => state.timeline.push({ step, at: new Date().toISOString(), ...(detail ? { detail } : {}) });

  const state = newDrillState(config, drillIdFor(startedAt, undefined), startedAt, now);


  try {
    const catalog = await listBackups(storage, config.storage.prefix);
    state.catalog = catalog.backups.map(({ manifest: m }) => ({
      id: m.id,
      tier: m.tier,
      database: m.database,
      startedAt: m.startedAt,
      finishedAt: m.finishedAt,
      ...backupSeries(m),
    }));
    state.invalidManifests = catalog.invalid.map((i) => `${i.manifestKey}: ${i.reason}`);
    const entry = selectBackup(catalog, options.selector);
    if (!entry) {
      state.restore = fail('locate', new PgdrillError(`No valid backup matches ${JSON.stringify(options.selector ?? 'the newest full backup')} in ${storage.location}`));
      return { state, teardown };
    }
    const manifest = entry.manifest;
    state.manifest = manifest;
    state.drillId = drillIdFor(startedAt, manifest.database);
    mark('located', entry.manifestKey);

    const keyring = loadKeyring(config, 'read');
    const restored = await restoreIntoNewSandbox({ config, storage, keyring, manifest, kind: config.sandbox.kind, cleanups, mark });
    state.verified = restored.verified;
    state.timings = restored.timings;
    state.restore = restored.outcome;
    state.extensions = restored.extensions ?? null;
    if (restored.sandbox) {
      state.sandbox = {
        kind: restored.sandbox.kind,
        description: restored.sandbox.description,
        serverVersion: restored.sandbox.serverVersion,
        uri: restored.sandbox.connectionUri(),
      };
    }
    if (state.restore.ok && options.afterRestore) await options.afterRestore(state.sandbox!.uri);
    // Counted also after a partial restore: the record-count check then names the rows lost.
    if (state.restore.ok || state.restore.partial) {
      const counting = Date.now();
      const db = new pg.Pool({ connectionString: state.sandbox!.uri, max: 1 });
      try {
        state.recordCounts = await compareRecordCounts(db, manifest, config.drill.recordCountTolerance);
      } finally {
        await db.end();
      }
      state.timings.countMs = Date.now() - counting;
      mark('counted', state.recordCounts.summary);
    }
    // Files and Redis are restored whatever became of the database: their checks say what they found.
    state.fileSets = await prepareFileSets({ config, storage, keyring, manifest, full: options.full === true, cleanups, mark });
    state.redis = await restoreRedis({ storage, keyring, manifest, mark });
    if (state.restore.ok) {
      state.olderBackup = await proveOlderBackup({ config, storage, keyring, catalog, current: manifest, kind: restored.sandbox!.kind, now, cleanups, mark });
    }
    const verification = await verifyRetainedArchives({ config, storage, keyring, catalog, database: manifest.database, drillId: state.drillId, now, restored: restoredArchives(state, entry, catalog), mark });
    state.archiveVerification = verification.outcome;
    state.firstFullBackupAt = verification.firstFullBackupAt;
    return { state, teardown };
  } catch (error) {
    state.restore = fail(state.manifest ? 'restore' : 'locate', error);
    return { state, teardown };
  }
}

/** The drill's configuration: file and environment, then the run's overrides and --sandbox. */
export function loadDrillConfig(options: DrillOptions): Promise<PgdrillConfig> {
  const sandbox = options.sandbox ? { sandbox: { kind: options.sandbox } } : {};
  return loadConfig({ configFile: options.configFile, cwd: options.cwd, flags: { ...options.overrides, ...sandbox } });
}

/** pg_restore must be at least as new as the pg_dump that wrote the archive, and the server's major. */
function restoreMajor(manifest: BackupManifest): number {
  const dumpMajor = Number(/^(\d+)/.exec(manifest.pgDumpVersion)?.[1] ?? manifest.serverMajor);
  return Math.max(manifest.serverMajor, dumpMajor);
}

function fail(stage: NonNullable<RestoreOutcome['failedStage']>, error: unknown): RestoreOutcome {
  return { ok: false, failedStage: stage, error: error instanceof Error ? error.message : String(error), errorKind: errorKind(error) };
}

interface RestoreIntoSandboxOptions {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  manifest: BackupManifest;
  kind: 'auto' | 'docker' | 'embedded';
  cleanups: Array<() => Promise<unknown>>;
  mark: (step: string, detail?: string) => void;
  label?: string;
}

async function restoreIntoNewSandbox(o: RestoreIntoSandboxOptions) {
  const result: {
    outcome: RestoreOutcome;
    verified: DrillState['verified'];
    timings: DrillState['timings'];
    sandbox?: Sandbox;
    extensions?: DrillState['extensions'];
  } = { outcome: { ok: false }, verified: { storedSha256: null, plaintextSha256: null }, timings: { downloadMs: null, decryptMs: null, restoreMs: null, countMs: null } };
  const label = o.label ? `${o.label} ` : '';
  let fetched;
  try {
    fetched = await fetchBackup({ storage: o.storage, manifest: o.manifest, keyring: o.keyring });
    o.cleanups.push(fetched.cleanup);
    result.timings.downloadMs = fetched.timings.downloadMs;
    result.timings.decryptMs = fetched.timings.decryptMs;
    result.verified = fetched.verified;
    o.mark(`${label}downloaded`.replaceAll(' ', '-'), `${o.manifest.objects.dump.key}: size and SHA-256 verified`);
    o.mark(`${label}decrypted`.replaceAll(' ', '-'), 'authenticated decryption and plaintext SHA-256 verified');
  } catch (error) {
    result.outcome = fail(error instanceof IntegrityError || error instanceof CryptoError ? 'verify' : 'restore', error);
    return result;
  }
  try {
    const sandbox = await startSandbox(o.kind, { major: restoreMajor(o.manifest), image: o.config.sandbox.image, binDir: o.config.sandbox.binDir, database: 'restore' });
    o.cleanups.push(() => sandbox.stop());
    result.sandbox = sandbox;
    const extensions = await sandboxExtensions(sandbox, o.manifest);
    result.extensions = extensions?.comparison ?? null;
    if (extensions?.error) {
      result.outcome = fail('sandbox', extensions.error);
      await fetched.cleanup();
      return result;
    }
  } catch (error) {
    result.outcome = fail('sandbox', error);
    return result;
  }
  const restoring = Date.now();
  try {
    const { restoreMs } = await restoreFetched({
      target: result.sandbox,
      manifest: o.manifest,
      fetched,
      selection: { withGlobals: true, jobs: o.config.sandbox.restoreJobs },
    });
    result.timings.restoreMs = restoreMs;
    o.mark(`${label}restored`.replaceAll(' ', '-'), `into ${result.sandbox.kind} sandbox (${result.sandbox.description}, PostgreSQL ${result.sandbox.serverVersion})`);
    result.outcome = { ok: true };
  } catch (error) {
    result.outcome = fail('restore', error);
    if (error instanceof IncompleteRestoreError) {
      // pg_restore went on to the end: the sandbox holds everything but the failed entries, and
      // the checks name what was lost. The archive's listing gives the entries their schemas.
      result.timings.restoreMs = Date.now() - restoring;
      const binDir = await restoreClientBinDir(restoreMajor(o.manifest), o.config.sandbox.binDir ?? o.config.backup.binDir).catch(() => undefined);
      const listing = await listArchive(fetched.dumpPath, { binDir }).catch(() => undefined);
      result.outcome.partial = { failures: resolveRestoreErrors(error.objectErrors, listing), errorsReported: error.errorsIgnored };
      o.mark(`${label}restored-with-errors`.replaceAll(' ', '-'), `${error.objectErrors.length} archive entries failed; the rest is in the ${result.sandbox.kind} sandbox`);
    }
  }
  // Plaintext is not kept around longer than needed.
  await fetched.cleanup();
  return result;
}

/** The archives this drill downloaded and verified completely while restoring them (the ledger counts them as verified). */
function restoredArchives(state: DrillState, main: CatalogEntry, catalog: Catalog): Array<{ entry: CatalogEntry; durationMs: number }> {
  const out: Array<{ entry: CatalogEntry; durationMs: number }> = [];
  const dump = main.manifest.objects.dump;
  if (state.verified.storedSha256 === dump.sha256 && state.verified.plaintextSha256 === dump.plaintextSha256) {
    out.push({ entry: main, durationMs: (state.timings.downloadMs ?? 0) + (state.timings.decryptMs ?? 0) });
  }
  const older = state.olderBackup?.status === 'pass' ? catalog.backups.find((b) => ARCHIVE_TIERS.includes(b.manifest.tier) && b.manifest.id === state.olderBackup!.id) : undefined;
  if (older) out.push({ entry: older, durationMs: 0 });
  return out;
}

/**
 * The oldest full archive copy (monthly, quarterly or yearly) of the database taken before the
 * backup under test (the catalog is oldest first).
 */
export function olderFullArchive(catalog: Catalog, current: BackupManifest): BackupManifest | undefined {
  return catalog.backups.find(
    (b) => ARCHIVE_TIERS.includes(b.manifest.tier) && b.manifest.database === current.database && b.manifest.startedAt < current.startedAt && backupSeries(b.manifest).full,
  )?.manifest;
}

/** Restores the oldest full archive copy still retained (not the one under test) into its own sandbox. */
async function proveOlderBackup(o: {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  catalog: Catalog;
  current: BackupManifest;
  kind: 'docker' | 'embedded';
  now: Date;
  cleanups: Array<() => Promise<unknown>>;
  mark: (step: string, detail?: string) => void;
}): Promise<OlderBackupOutcome | null> {
  if (o.config.drill.olderBackup === 'none') return null;
  const older = olderFullArchive(o.catalog, o.current);
  if (!older) return null;
  const base = {
    id: older.id,
    takenAt: older.startedAt,
    encryptionKeyId: older.encryption.algorithm === 'none' ? null : older.encryption.keyId,
  };
  // A second sandbox of the kind that worked for the main restore.
  const restored = await restoreIntoNewSandbox({ ...o, manifest: older, label: 'older backup' });
  await restored.sandbox?.stop();
  const ageDays = Math.floor((o.now.getTime() - Date.parse(older.startedAt)) / 86_400_000);
  return restored.outcome.ok
    ? { ...base, status: 'pass', detail: `${ageDays} days old, key ${base.encryptionKeyId ?? 'none'}: verified, decrypted and restored with today's keys and tools` }
    : { ...base, status: 'fail', detail: `${restored.outcome.failedStage} failed: ${restored.outcome.error}` };
}

/** Who ran the drill: the CI job when there is one, else user@host. */
export function drillRunner(): string {
  if (process.env.GITHUB_ACTIONS) return `GitHub Actions ${process.env.GITHUB_WORKFLOW ?? ''} run ${process.env.GITHUB_RUN_ID ?? ''}`.replace(/\s+/g, ' ').trim();
  if (process.env.CI === 'true') return `CI on ${os.hostname()}`;
  return `${os.userInfo().username}@${os.hostname()}`;
}

import { missingKeyError, type Keyring } from '../crypto/index.ts';
import { backupObjects, type BackupTier, type Catalog, type CatalogEntry } from '../catalog/index.ts';
import { manifestFormat, readObject } from '../files/index.ts';
import { ConfigError, CryptoError, errorKind, IntegrityError, ScratchFolderError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { checkPlainDump, GLOBALS_TRAILER, listArchive, restoreClientBinDir } from './archive.ts';
import { fetchBackup } from './restore.ts';

// `pgdrill verify`: a cheap integrity pass over the whole retention set, modelled on restic's
// `check --read-data`. Every object of every backup is downloaded (streamed to a private temp
// file, never held in memory), its stored size and SHA-256 checked, decrypted and decompressed to
// the end with the plaintext SHA-256 checked (fetchBackup, the drill's code), then read by
// `pg_restore --list` (custom format) or checked for pg_dump's completion trailer (plain SQL).
// A backup's file manifests, digest lists and Redis snapshot are verified the same way as they
// stream (the stored file contents are the drill's sample, or `pgdrill drill --full`).
// Nothing is restored.

export interface VerifyResult {
  id: string;
  tier: BackupTier;
  manifestKey: string;
  takenAt?: string;
  ok: boolean;
  /** `CryptoError CHUNK_AUTH_FAILED: …`, `IntegrityError: …`, `StorageError: …` */
  error?: string;
  /** Error class, with the crypto failure code when there is one. */
  errorKind?: string;
  /** Stored bytes read (every object of the backup). */
  bytes?: number;
  /** Archive entries pg_restore listed (custom format). */
  entries?: number;
  durationMs: number;
}

export interface VerifyReport {
  ok: boolean;
  results: VerifyResult[];
}

/** One line naming the error class (and crypto code) first, then the message. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CryptoError) return `${errorKind(error)}: ${message.replace(new RegExp(`^${error.code}: `), '')}`;
  return `${errorKind(error)}: ${message}`;
}

/** Backups the pass covers: all, or those taken on or after `since` (YYYY-MM-DD, UTC). */
export function backupsToVerify(catalog: Catalog, since?: string): CatalogEntry[] {
  return since ? catalog.backups.filter((b) => b.manifest.startedAt.slice(0, 10) >= since) : catalog.backups;
}

async function verifyOne(entry: CatalogEntry, o: { storage: BackupStorage; keyring: Keyring | null; binDir?: string; signal?: AbortSignal }): Promise<VerifyResult> {
  const m = entry.manifest;
  const started = Date.now();
  const base = { id: m.id, tier: m.tier, manifestKey: entry.manifestKey, takenAt: m.startedAt };
  let fetched;
  try {
    fetched = await fetchBackup({ storage: o.storage, manifest: m, keyring: o.keyring, withGlobals: true, signal: o.signal });
    let entries: number | undefined;
    if (m.format === 'custom') {
      const binDir = await restoreClientBinDir(m.serverMajor, o.binDir);
      entries = (await listArchive(fetched.dumpPath, { binDir, label: m.objects.dump.key })).entries.length;
    } else {
      await checkPlainDump(fetched.dumpPath, { label: m.objects.dump.key });
    }
    if (fetched.globalsPath && m.objects.globals) await checkPlainDump(fetched.globalsPath, { trailer: GLOBALS_TRAILER, label: m.objects.globals.key });
    // File manifests, digest lists and the Redis snapshot: downloaded, decrypted and hashed as they stream.
    const extras = backupObjects(m).filter((object) => object !== m.objects.dump && object !== m.objects.globals);
    for (const object of extras) {
      for await (const _ of await readObject(o.storage, object, { ...manifestFormat(m), keyring: o.keyring, owner: `backup ${m.id}`, signal: o.signal }));
    }
    const bytes = backupObjects(m).reduce((sum, object) => sum + object.size, 0);
    return { ...base, ok: true, bytes, entries, durationMs: Date.now() - started };
  } catch (error) {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : error;
    // A missing or too old pg_restore, or a full or read-only TMPDIR, says nothing about the
    // backup (nor about the next one): stop the pass (exit 3) rather than mark backups failed.
    if (error instanceof ConfigError || error instanceof ScratchFolderError) throw error;
    return { ...base, ok: false, error: describeFailure(error), errorKind: errorKind(error), durationMs: Date.now() - started };
  } finally {
    await fetched?.cleanup();
  }
}

/**
 * Verifies backups one at a time (one backup's files on local disk at once). Manifests that do
 * not validate are reported as failed backups too. Never throws for a bad backup; throws a
 * ConfigError before reading anything when encrypted backups are selected but no key is set, and
 * stops at a local fault (ConfigError, ScratchFolderError) that would fail every backup alike.
 */
export async function verifyBackups(options: {
  storage: BackupStorage;
  catalog: Catalog;
  keyring: Keyring | null;
  since?: string;
  /** PGDRILL_PG_BINDIR: where pg_restore lives (default: Debian's versioned dir, then PATH). */
  binDir?: string;
  signal?: AbortSignal;
  onResult?: (result: VerifyResult) => void;
}): Promise<VerifyReport> {
  const selected = backupsToVerify(options.catalog, options.since);
  if (!options.keyring) {
    const encrypted = selected.flatMap(({ manifest: { id, encryption } }) => (encryption.algorithm === 'none' ? [] : [{ id, keyId: encryption.keyId }]));
    if (encrypted.length > 0) throw missingKeyError(encrypted);
  }
  const results: VerifyResult[] = [];
  const report = (result: VerifyResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  for (const bad of options.catalog.invalid) {
    report({
      id: bad.id,
      tier: bad.tier,
      manifestKey: bad.manifestKey,
      ok: false,
      error: `InvalidManifest: ${bad.reason}`,
      errorKind: 'InvalidManifest',
      durationMs: 0,
    });
  }
  for (const entry of selected) report(await verifyOne(entry, options));
  return { ok: results.length > 0 && results.every((r) => r.ok), results };
}

/** The error a verification pass ends with (exit 4): nothing was verified, or a backup failed. */
export function verificationFailure(report: VerifyReport, location: string, since?: string): IntegrityError | undefined {
  if (report.results.length === 0) {
    return new IntegrityError(`No backup to verify in ${location}${since ? ` taken since ${since}` : ''}`, { hint: 'Check PGDRILL_STORAGE and the prefix; an empty retention set restores nothing' });
  }
  const failed = report.results.filter((r) => !r.ok);
  if (failed.length === 0) return undefined;
  return new IntegrityError(`${failed.length} of ${report.results.length} backups failed verification: ${failed.map((r) => `${r.tier}/${r.id} (${r.errorKind})`).join(', ')}`, {
    hint: 'Restore from a backup that passed; investigate the storage and take a fresh backup now',
  });
}

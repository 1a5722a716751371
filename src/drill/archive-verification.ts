import type { ArchiveVerificationItem, ArchiveVerificationOutcome } from '../check/index.ts';
import {
  addMonths,
  archiveVerification,
  backupSeries,
  identityOf,
  lastVerifications,
  planArchiveVerification,
  readVerificationLedger,
  VERIFICATION_FORMAT_VERSION,
  writeVerificationRecord,
  type ArchiveVerification,
  type Catalog,
  type CatalogEntry,
  type VerificationRecord,
} from '../catalog/index.ts';
import { TOOL_VERSION, type PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { verifyBackups } from '../restore/index.ts';
import type { BackupStorage } from '../storage/index.ts';

// After restic's `check --read-data-subset`: besides the backups it restores, each drill fully
// verifies (download, every SHA-256, decryption to the end, pg_restore --list: verifyBackups, the
// code of `pgdrill verify`) the retained archives never verified and the least recently verified
// ones, files what it found in the verification ledger, and reports how recently every retained
// archive was last proven readable.

export interface ArchiveVerificationInput {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  catalog: Catalog;
  /** The database under test: its retained archives are the ones this drill answers for. */
  database: string;
  drillId: string;
  /** The drill's clock: verifications are dated by it. */
  now: Date;
  /** Archives this drill downloaded, verified and decrypted for a restore: verified already. */
  restored: ReadonlyArray<{ entry: CatalogEntry; durationMs: number }>;
  mark: (step: string, detail?: string) => void;
}

export interface ArchiveVerificationResult {
  outcome: ArchiveVerificationOutcome;
  /** The earliest full backup of the database the catalog or the ledger knows of. */
  firstFullBackupAt: string | null;
}

/** Runs the pass and files its record. Never throws: a pass that cannot run is an outcome with `error`. */
export async function verifyRetainedArchives(o: ArchiveVerificationInput): Promise<ArchiveVerificationResult> {
  const reverifyMonths = o.config.drill.reverifyMonths;
  const archives = o.catalog.backups.filter((b) => b.manifest.database === o.database);
  const catalogFirst = archives.filter((b) => backupSeries(b.manifest).full).map((b) => b.manifest.startedAt).sort()[0] ?? null;
  const outcome: ArchiveVerificationOutcome = {
    reverifyMonths,
    archives: [],
    verifiedWithin: 0,
    oldestVerifiedAt: null,
    pass: { archives: 0, bytes: 0, durationMs: 0 },
    quota: 0,
    ledgerKey: null,
    unreadableRecords: [],
  };
  let ledgerFirst: string | null = null;
  try {
    const ledger = await readVerificationLedger(o.storage, o.config.storage.prefix);
    outcome.unreadableRecords = ledger.unreadable.map((u) => `${u.key}: ${u.reason}`);
    ledgerFirst =
      ledger.records
        .flatMap((r) => r.results)
        .filter((r) => r.database === o.database && r.full)
        .map((r) => r.takenAt)
        .sort()[0] ?? null;

    const restored = o.restored.map(({ entry, durationMs }) =>
      archiveVerification(entry, { method: 'restore', ok: true, bytes: entry.manifest.objects.dump.size + (entry.manifest.objects.globals?.size ?? 0), durationMs }),
    );
    const plan = planArchiveVerification({
      archives,
      last: lastVerifications(ledger.records),
      reverifyMonths,
      nextDrillAt: new Date(o.now.getTime() + o.config.drill.intervalDays * 86_400_000),
      verifiedByThisDrill: new Set(o.restored.map(({ entry }) => identityOf(entry.manifest))),
    });
    outcome.quota = plan.quota;
    const reasons = new Map<string, string>([
      ...o.restored.map(({ entry }) => [identityOf(entry.manifest), 'restored by this drill'] as const),
      ...plan.selected.map(({ entry, reason }) => [identityOf(entry.manifest), reason] as const),
    ]);

    const started = Date.now();
    const report = await verifyBackups({
      storage: o.storage,
      catalog: { backups: plan.selected.map((s) => s.entry), invalid: [] },
      keyring: o.keyring,
      binDir: o.config.backup.binDir,
    });
    outcome.pass = {
      archives: report.results.length,
      bytes: report.results.reduce((sum, r) => sum + (r.bytes ?? 0), 0),
      durationMs: Date.now() - started,
    };
    const byManifestKey = new Map(plan.selected.map(({ entry }) => [entry.manifestKey, entry]));
    const verified = report.results.map((r) =>
      archiveVerification(byManifestKey.get(r.manifestKey)!, {
        method: 'verify',
        ok: r.ok,
        ...(r.errorKind ? { errorKind: r.errorKind } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
        durationMs: r.durationMs,
      }),
    );
    const results: ArchiveVerification[] = [...restored, ...verified];
    const records = [...ledger.records];
    if (results.length > 0) {
      const record: VerificationRecord = { formatVersion: VERIFICATION_FORMAT_VERSION, drillId: o.drillId, verifiedAt: o.now.toISOString(), toolVersion: TOOL_VERSION, results };
      outcome.ledgerKey = await writeVerificationRecord(o.storage, o.config.storage.prefix, record);
      records.push(record);
    }
    const failed = verified.filter((v) => !v.ok).length;
    o.mark('archives-verified', `${verified.length} archive(s) verified (${failed} failed), ${restored.length} by restoring; ledger ${outcome.ledgerKey ?? 'unchanged'}`);

    // The ledger after this drill: each retained archive's latest verification.
    const last = lastVerifications(records);
    const within = addMonths(o.now, -reverifyMonths);
    outcome.archives = archives.map(({ manifest }): ArchiveVerificationItem => {
      const latest = last.get(identityOf(manifest));
      const reason = reasons.get(identityOf(manifest));
      return {
        id: manifest.id,
        tier: manifest.tier,
        takenAt: manifest.startedAt,
        verifiedAt: latest?.verifiedAt ?? null,
        ok: latest?.ok ?? null,
        ...(latest?.errorKind ? { errorKind: latest.errorKind } : {}),
        ...(latest?.error ? { error: latest.error } : {}),
        ...(latest ? { method: latest.method } : {}),
        ...(reason ? { thisDrill: reason } : {}),
      };
    });
    const good = outcome.archives.filter((a) => a.ok === true && a.verifiedAt !== null && new Date(a.verifiedAt) > within);
    outcome.verifiedWithin = good.length;
    outcome.oldestVerifiedAt = good.map((a) => a.verifiedAt!).sort()[0] ?? null;
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
    o.mark('archives-verified', `archive verification did not complete: ${outcome.error}`);
  }
  const firstFullBackupAt = [catalogFirst, ledgerFirst].filter((d): d is string => d !== null).sort()[0] ?? null;
  return { outcome, firstFullBackupAt };
}

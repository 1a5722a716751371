import { text } from 'node:stream/consumers';
import { z } from 'zod';
import { StorageError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import type { CatalogEntry } from './catalog.ts';
import { parseVerificationRecordKey, verificationRecordKey, verificationsPrefix } from './layout.ts';
import { BackupTier, backupSeries, Sha256Hex, type BackupManifest } from './manifest.ts';

// The archive verification ledger (after restic's `check --read-data-subset`): every drill fully
// verifies some retained archives and files one record of what it verified. Records are only ever
// added, one object per drill; the ledger is what tells the next drill which archives are due.

export const VERIFICATION_FORMAT_VERSION = 1;

/** One archive a drill verified. */
export const ArchiveVerification = z.object({
  tier: BackupTier,
  id: z.string().min(1),
  database: z.string(),
  manifestKey: z.string().min(1),
  /** The manifest's dump SHA-256 when verified: a later archive under the same id is a different archive. */
  dumpSha256: Sha256Hex,
  takenAt: z.iso.datetime(),
  /** A full backup (backupSeries); partial ones are verified too but do not date the history. */
  full: z.boolean(),
  /**
   * `verify`: downloaded, every SHA-256 checked, decrypted to the end, read by `pg_restore --list`.
   * `restore`: the drill downloaded it, checked every SHA-256 and decrypted it to the end to restore it.
   */
  method: z.enum(['verify', 'restore']),
  ok: z.boolean(),
  /** errorKind() of the failure: `IntegrityError`, `CryptoError CHUNK_AUTH_FAILED`, `StorageError`. */
  errorKind: z.string().optional(),
  error: z.string().optional(),
  /** Stored bytes read. */
  bytes: z.number().int().nonnegative().optional(),
  durationMs: z.number().int().nonnegative(),
});
export type ArchiveVerification = z.infer<typeof ArchiveVerification>;

/** What one drill verified: the ledger's unit, written once and never rewritten. */
export const VerificationRecord = z.object({
  formatVersion: z.literal(VERIFICATION_FORMAT_VERSION),
  drillId: z.string().min(1),
  /** The drill's clock. */
  verifiedAt: z.iso.datetime(),
  toolVersion: z.string(),
  results: z.array(ArchiveVerification).min(1),
});
export type VerificationRecord = z.infer<typeof VerificationRecord>;

/** Which archive a verification is of: tier, id and the dump's SHA-256. */
export function archiveIdentity(archive: Pick<BackupManifest, 'tier' | 'id'> & { dumpSha256: string }): string {
  return `${archive.tier}/${archive.id}@${archive.dumpSha256}`;
}

export function identityOf(manifest: BackupManifest): string {
  return archiveIdentity({ tier: manifest.tier, id: manifest.id, dumpSha256: manifest.objects.dump.sha256 });
}

/** A ledger entry of this archive, from its manifest and the outcome. */
export function archiveVerification(entry: CatalogEntry, outcome: Pick<ArchiveVerification, 'method' | 'ok' | 'errorKind' | 'error' | 'bytes' | 'durationMs'>): ArchiveVerification {
  const m = entry.manifest;
  return ArchiveVerification.parse({
    tier: m.tier,
    id: m.id,
    database: m.database,
    manifestKey: entry.manifestKey,
    dumpSha256: m.objects.dump.sha256,
    takenAt: m.startedAt,
    full: backupSeries(m).full,
    ...outcome,
  });
}

/** Files a drill's record; refuses to replace one (the ledger is append-only). Returns its key. */
export async function writeVerificationRecord(storage: BackupStorage, prefix: string, record: VerificationRecord): Promise<string> {
  const valid = VerificationRecord.parse(record);
  const key = verificationRecordKey(prefix, valid.drillId, new Date(valid.verifiedAt));
  if (await storage.head(key)) {
    throw new StorageError(`Verification record ${key} already exists in ${storage.location}; the ledger is never rewritten`, {
      hint: 'Another drill with the same id filed it; run the drill again',
    });
  }
  await storage.put(key, Buffer.from(`${JSON.stringify(valid, null, 2)}\n`), { contentType: 'application/json' });
  return key;
}

export interface VerificationLedger {
  /** Valid records, oldest first (by verifiedAt, then key). */
  records: VerificationRecord[];
  /** Records that do not parse or validate: ignored, so the archives they name are verified again sooner. */
  unreadable: Array<{ key: string; reason: string }>;
}

/** Every record of the ledger. */
export async function readVerificationLedger(storage: BackupStorage, prefix: string): Promise<VerificationLedger> {
  const found: Array<{ key: string; record: VerificationRecord }> = [];
  const unreadable: VerificationLedger['unreadable'] = [];
  for await (const object of storage.list(verificationsPrefix(prefix))) {
    if (!parseVerificationRecordKey(prefix, object.key)) continue;
    try {
      const parsed = VerificationRecord.safeParse(JSON.parse(await text(await storage.get(object.key))));
      if (parsed.success) found.push({ key: object.key, record: parsed.data });
      else unreadable.push({ key: object.key, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
    } catch (error) {
      if (error instanceof StorageError) throw error;
      unreadable.push({ key: object.key, reason: (error as Error).message });
    }
  }
  found.sort((a, b) => a.record.verifiedAt.localeCompare(b.record.verifiedAt) || a.key.localeCompare(b.key));
  return { records: found.map((f) => f.record), unreadable };
}

/** The latest verification of an archive, with when it happened. */
export type LastVerification = ArchiveVerification & { verifiedAt: string };

/** The latest verification of each archive (by archiveIdentity), from records oldest first. */
export function lastVerifications(records: readonly VerificationRecord[]): Map<string, LastVerification> {
  const last = new Map<string, LastVerification>();
  for (const record of records) for (const result of record.results) last.set(archiveIdentity(result), { ...result, verifiedAt: record.verifiedAt });
  return last;
}

/** The same instant `months` calendar months later (UTC; the day clamps to the month's end). */
export function addMonths(date: Date, months: number): Date {
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(date.getUTCDate(), lastDay));
  target.setUTCHours(date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds());
  return target;
}

export type VerificationReason = 'never verified' | 'last verification failed' | 'due' | 'least recently verified';

export interface VerificationPlan {
  /** In order: never verified or last failed (oldest archive first), then the least recently verified. */
  selected: Array<{ entry: CatalogEntry; reason: VerificationReason }>;
  /** ceil(retained / reverifyMonths): how many verified archives each drill re-verifies at least. */
  quota: number;
}

/**
 * Which retained archives this drill verifies: every one never verified (or whose last verification
 * failed), every one whose last verification would be older than `reverifyMonths` by the next drill,
 * and at least ceil(N / reverifyMonths) of the least recently verified, so that monthly drills
 * re-verify each of N archives at least once per `reverifyMonths`. Deterministic: ties go to the
 * older archive, then the manifest key.
 */
export function planArchiveVerification(input: {
  /** The retained archives (valid manifests) the drill answers for. */
  archives: readonly CatalogEntry[];
  last: ReadonlyMap<string, LastVerification>;
  reverifyMonths: number;
  /** When the next drill is expected (the drill's clock + drill.intervalDays). */
  nextDrillAt: Date;
  /** Archives this drill already verified by restoring them (archiveIdentity). */
  verifiedByThisDrill: ReadonlySet<string>;
}): VerificationPlan {
  const quota = Math.ceil(input.archives.length / input.reverifyMonths);
  const byAge = (a: CatalogEntry, b: CatalogEntry) => a.manifest.startedAt.localeCompare(b.manifest.startedAt) || a.manifestKey.localeCompare(b.manifestKey);
  const candidates = input.archives.filter((e) => !input.verifiedByThisDrill.has(identityOf(e.manifest)));
  const unverified = candidates.filter((e) => !input.last.get(identityOf(e.manifest))?.ok).sort(byAge);
  const verified = candidates
    .filter((e) => input.last.get(identityOf(e.manifest))?.ok)
    .map((entry) => ({ entry, at: input.last.get(identityOf(entry.manifest))!.verifiedAt }))
    .sort((a, b) => a.at.localeCompare(b.at) || byAge(a.entry, b.entry));
  const due = verified.filter((v) => addMonths(new Date(v.at), input.reverifyMonths) <= input.nextDrillAt).length;
  return {
    quota,
    selected: [
      ...unverified.map((entry) => ({ entry, reason: (input.last.has(identityOf(entry.manifest)) ? 'last verification failed' : 'never verified') as VerificationReason })),
      ...verified.slice(0, Math.max(quota, due)).map((v, i) => ({ entry: v.entry, reason: (i < due ? 'due' : 'least recently verified') as VerificationReason })),
    ],
  };
}

import { BackupTier, FILE_SET_NAME } from './manifest.ts';

// Key layout (seed 001), under a configurable prefix (default `backups`). The one place that
// builds and parses these keys:
//   {prefix}/daily/{YYYY-MM-DD}-{db}[-N].{ext}        data objects
//   {prefix}/weekly/{GGGG}-W{ww}-{db}.{ext}
//   {prefix}/monthly/{YYYY-MM}-{db}.{ext}
//   {prefix}/quarterly/{YYYY}-Q{q}-{db}.{ext}
//   {prefix}/yearly/{YYYY}-{db}.{ext}
//   {prefix}/{tier}/{id}.files-{set}.ndjson.{zst}.enc  a backup's file manifest of a file set (sorted by key)
//   {prefix}/{tier}/{id}.files-{set}.sha256.{zst}.enc  the distinct SHA-256 it refers to, sorted (retention marks with it)
//   {prefix}/{tier}/{id}.redis.rdb.{zst}.enc          a Redis RDB snapshot
//   {prefix}/content/{sha[0:2]}/{sha256}[.enc]        file contents, stored once by the SHA-256 of their plaintext
//   {prefix}/manifests/{tier}/{id}.json               commit points, written last
//   {prefix}/drills/{YYYY-MM}/{drill-id}.{json,html,pdf}  drill evidence and reports
//   {prefix}/verifications/{YYYY-MM}/{drill-id}.json  archive verification ledger: one record per
//                                                      drill, month of the drill's clock, never rewritten
//   {prefix}/audit/{YYYY-MM}/{seq}.json               admin audit trail: one record per action,
//                                                      10-digit sequence, hash-chained, never rewritten

/** A database name made safe for object keys; the manifest keeps the real name. */
export function keySafeName(database: string): string {
  const slug = database.normalize('NFKD').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
  return slug || 'db';
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function isoMonth(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** ISO-8601 week, e.g. `2026-W48`, in UTC. */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The UTC hour, e.g. `2026-11-23T14` (hourly retention's period). */
export function isoHour(date: Date): string {
  return date.toISOString().slice(0, 13);
}

/** The UTC quarter, e.g. `2026-Q4`. */
export function isoQuarter(date: Date): string {
  return `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

/** The UTC year, e.g. `2026`. */
export function isoYear(date: Date): string {
  return String(date.getUTCFullYear());
}

/** The period of `tier` that `date` falls in: what a backup id of that tier starts with. */
export function tierPeriod(tier: BackupTier, date: Date): string {
  switch (tier) {
    case 'daily':
      return isoDay(date);
    case 'weekly':
      return isoWeek(date);
    case 'monthly':
      return isoMonth(date);
    case 'quarterly':
      return isoQuarter(date);
    case 'yearly':
      return isoYear(date);
  }
}

/** Backup id for a tier and time (UTC), before any same-day suffix. */
export function backupId(tier: BackupTier, takenAt: Date, database: string): string {
  return `${tierPeriod(tier, takenAt)}-${keySafeName(database)}`;
}

export function dataKey(prefix: string, tier: BackupTier, id: string, extension: string): string {
  return `${prefix}/${tier}/${id}.${extension}`;
}

export function manifestKey(prefix: string, tier: BackupTier, id: string): string {
  return `${prefix}/manifests/${tier}/${id}.json`;
}

export function manifestsPrefix(prefix: string): string {
  return `${prefix}/manifests/`;
}

/** Where a tier's data objects live: `{prefix}/{tier}/`. */
export function tierPrefix(prefix: string, tier: BackupTier): string {
  return `${prefix}/${tier}/`;
}

/**
 * Every data object of a backup starts with this stem (`{prefix}/{tier}/{id}.`): retention only
 * ever deletes under it, and a same-day id is free only when nothing starts with it.
 */
export function dataKeyStem(prefix: string, tier: BackupTier, id: string): string {
  return `${tierPrefix(prefix, tier)}${id}.`;
}

/** The extension part of a data key (`dump.zst.enc`), given the backup it belongs to. */
export function extensionOfDataKey(key: string, id: string): string {
  return key.slice(key.lastIndexOf('/') + 1 + id.length + 1);
}

/** The period a backup id starts with, per tier (see backupId). */
const ID_PERIOD: Record<BackupTier, string> = {
  daily: String.raw`\d{4}-\d{2}-\d{2}`,
  weekly: String.raw`\d{4}-W\d{2}`,
  monthly: String.raw`\d{4}-\d{2}`,
  quarterly: String.raw`\d{4}-Q[1-4]`,
  yearly: String.raw`\d{4}`,
};

/** `{period}-{key-safe database}[-N].{objectExtension}` */
const dataKeyName = (tier: BackupTier) =>
  new RegExp(String.raw`^${ID_PERIOD[tier]}-[A-Za-z0-9_.-]+?\.(?:dump|sql|globals\.sql|files-${FILE_SET_NAME}\.(?:ndjson|sha256)|redis\.rdb)(?:\.zst|\.gz)?(?:\.enc)?$`);

/**
 * Whether `key` is named like a data object of `tier` (`{prefix}/{tier}/{id}.{ext}`, see dataKey and
 * objectExtension): only such keys can be a pgdrill leftover; anything else in a tier folder was put
 * there by someone else and is never swept.
 */
export function isDataKey(prefix: string, tier: BackupTier, key: string): boolean {
  const start = tierPrefix(prefix, tier);
  return key.startsWith(start) && dataKeyName(tier).test(key.slice(start.length));
}

/** Tier and id of a manifest key under `prefix`, or undefined for any other key. */
export function parseManifestKey(prefix: string, key: string): { tier: BackupTier; id: string } | undefined {
  const start = manifestsPrefix(prefix);
  if (!key.startsWith(start) || !key.endsWith('.json')) return undefined;
  const [tier, id, ...rest] = key.slice(start.length, -'.json'.length).split('/');
  const parsedTier = BackupTier.safeParse(tier);
  if (!parsedTier.success || !id || rest.length > 0) return undefined;
  return { tier: parsedTier.data, id };
}

/** Storage folder of every drill record under a backup prefix: `{prefix}/drills/`. */
export function drillsPrefix(prefix: string): string {
  return `${prefix}/drills/`;
}

export function drillReportKey(prefix: string, drillId: string, startedAt: Date, extension: 'json' | 'html' | 'pdf'): string {
  return `${drillsPrefix(prefix)}${isoMonth(startedAt)}/${drillId}.${extension}`;
}

/** The kind of a file set's objects: its file manifest (`ndjson`) and its sorted digests (`sha256`). */
export function fileSetObjectKind(name: string, part: 'ndjson' | 'sha256'): `files-${string}.${'ndjson' | 'sha256'}` {
  return `files-${name}.${part}`;
}

/** What one backup stores (see dataKey): the dump or SQL, role globals, file-set lists, a Redis snapshot. */
export type ObjectKind = 'dump' | 'sql' | 'globals.sql' | 'redis.rdb' | ReturnType<typeof fileSetObjectKind>;

/** File extension of a stored object: kind + compression + `.enc` when encrypted. */
export function objectExtension(kind: ObjectKind, compression: 'zstd' | 'gzip' | 'none', encrypted: boolean): string {
  const comp = compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
  return `${kind}${comp}${encrypted ? '.enc' : ''}`;
}

/** Storage folder of the archive verification ledger: `{prefix}/verifications/`. */
export function verificationsPrefix(prefix: string): string {
  return `${prefix}/verifications/`;
}

/** Where a drill's archive verification record goes: `{prefix}/verifications/{YYYY-MM}/{drillId}.json` (month of `verifiedAt`). */
export function verificationRecordKey(prefix: string, drillId: string, verifiedAt: Date): string {
  return `${verificationsPrefix(prefix)}${isoMonth(verifiedAt)}/${drillId}.json`;
}

/** Month and drill id of a verification record key under `prefix`, or undefined for any other key. */
export function parseVerificationRecordKey(prefix: string, key: string): { month: string; drillId: string } | undefined {
  const start = verificationsPrefix(prefix);
  if (!key.startsWith(start) || !key.endsWith('.json')) return undefined;
  const [month, drillId, ...rest] = key.slice(start.length, -'.json'.length).split('/');
  if (!month || !/^\d{4}-\d{2}$/.test(month) || !drillId || rest.length > 0) return undefined;
  return { month, drillId };
}

/** Folder of the content-addressed file store: `{prefix}/content/`. */
export function contentPrefix(prefix: string): string {
  return `${prefix}/content/`;
}

/**
 * Where a file's content is stored, by the SHA-256 of its plaintext: `{prefix}/content/{ab}/{sha256}`
 * (`.enc` when encrypted). Keys list in SHA-256 order, which the retention sweep relies on.
 */
export function contentKey(prefix: string, sha256: string, encrypted: boolean): string {
  return `${contentPrefix(prefix)}${sha256.slice(0, 2)}/${sha256}${encrypted ? '.enc' : ''}`;
}

const CONTENT_NAME = /^([0-9a-f]{2})\/([0-9a-f]{64})(\.enc)?$/;

/** SHA-256 and encryption of a content key under `prefix`, or undefined for any other key (never swept). */
export function parseContentKey(prefix: string, key: string): { sha256: string; encrypted: boolean } | undefined {
  const start = contentPrefix(prefix);
  if (!key.startsWith(start)) return undefined;
  const match = CONTENT_NAME.exec(key.slice(start.length));
  if (!match || !match[2]!.startsWith(match[1]!)) return undefined;
  return { sha256: match[2]!, encrypted: match[3] !== undefined };
}

/** Storage folder of the admin audit trail: `{prefix}/audit/`. */
export function auditPrefix(prefix: string): string {
  return `${prefix}/audit/`;
}

/** Where audit record `seq` (1, 2, …) goes: `{prefix}/audit/{YYYY-MM}/{seq, 10 digits}.json`, month of `at`; keys sort in chain order. */
export function auditRecordKey(prefix: string, seq: number, at: Date): string {
  return `${auditPrefix(prefix)}${isoMonth(at)}/${String(seq).padStart(10, '0')}.json`;
}

/** Month and sequence of an audit record key under `prefix`, or undefined for any other key. */
export function parseAuditRecordKey(prefix: string, key: string): { month: string; seq: number } | undefined {
  const match = /^(\d{4}-\d{2})\/(\d{10})\.json$/.exec(key.startsWith(auditPrefix(prefix)) ? key.slice(auditPrefix(prefix).length) : '');
  return match ? { month: match[1]!, seq: Number(match[2]) } : undefined;
}

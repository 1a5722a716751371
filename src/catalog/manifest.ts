import { z } from 'zod';

/** Bumped whenever a reader of an older manifest would misread a newer one. */
export const MANIFEST_FORMAT_VERSION = 1;

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (SHA-256)');

/**
 * Where a backup's objects live. Every backup is taken into `daily` (hourly retention is a window
 * over those); the other tiers hold copies promoted from a daily.
 */
export const BackupTier = z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']);
export type BackupTier = z.infer<typeof BackupTier>;

/** Every tier, the order lists and plans use. */
export const BACKUP_TIERS: readonly BackupTier[] = BackupTier.options;

/** The tiers of promoted copies, shortest period first. */
export type CopyTier = Exclude<BackupTier, 'daily'>;
export const COPY_TIERS: readonly CopyTier[] = ['weekly', 'monthly', 'quarterly', 'yearly'];

/** Copies kept for the long term (a drill proves the oldest of them restores). */
export const ARCHIVE_TIERS: readonly BackupTier[] = ['monthly', 'quarterly', 'yearly'];

/** One object a backup stored: its key, what was stored and what it decodes to. */
export const StoredObjectRef = z.object({
  key: z.string().min(1),
  /** Bytes stored (after compression and encryption). */
  size: z.number().int().nonnegative(),
  /** SHA-256 of the stored bytes. */
  sha256: Sha256Hex,
  /** Bytes and SHA-256 of the plaintext (pg_dump output before compression). */
  plaintextSize: z.number().int().nonnegative(),
  plaintextSha256: Sha256Hex,
});
export type StoredObjectRef = z.infer<typeof StoredObjectRef>;

export const EncryptionInfo = z.discriminatedUnion('algorithm', [
  z.object({
    algorithm: z.literal('aes-256-gcm-stream-v1'),
    keyId: z.string().min(1),
    chunkSize: z.number().int().positive(),
  }),
  z.object({ algorithm: z.literal('none') }),
]);
export type EncryptionInfo = z.infer<typeof EncryptionInfo>;

export const TableCount = z.object({
  schema: z.string(),
  name: z.string(),
  rows: z.number().int().nonnegative(),
});
export type TableCount = z.infer<typeof TableCount>;

export const AuditChainHead = z.object({
  table: z.string(),
  orderColumn: z.string(),
  /** Order-column value of the last row, as text. */
  lastId: z.string(),
  lastHash: z.string(),
  rows: z.number().int().nonnegative(),
});
export type AuditChainHead = z.infer<typeof AuditChainHead>;

export const RoleInfo = z.object({
  name: z.string(),
  login: z.boolean(),
  memberOf: z.array(z.string()),
  /** Table privileges granted to the role on dumped tables, as `schema.table:PRIVILEGE`. */
  privileges: z.array(z.string()),
});
export type RoleInfo = z.infer<typeof RoleInfo>;

/** An extension installed in the source database (pg_extension), which a restore target must offer. */
export const ExtensionInfo = z.object({
  name: z.string().min(1),
  /** The installed version, e.g. `1.3`. */
  version: z.string(),
  /** The schema it was created in. */
  schema: z.string(),
});
export type ExtensionInfo = z.infer<typeof ExtensionInfo>;

/** What a file set's name may be (it is part of object keys): letters, digits, `_` and `-`. */
export const FILE_SET_NAME = '[A-Za-z0-9][A-Za-z0-9_-]{0,63}';

/**
 * One file set a backup captured (an S3 prefix or a folder of uploaded files), listed right after
 * the database snapshot was exported. Its files are stored once by content (`content/` keys, see
 * contentKey) with the backup's encryption; the file manifest names them.
 */
export const FileSetRecord = z.object({
  name: z.string().regex(new RegExp(`^${FILE_SET_NAME}$`)),
  /** Where the files were read, without credentials: `s3://bucket/prefix`, `file:///srv/uploads`. */
  source: z.string().min(1),
  /** When the listing started. */
  listedAt: z.iso.datetime(),
  /** The file manifest: NDJSON, one `{ key, size, sha256, mtime }` per file, sorted by key (UTF-8 bytes). */
  manifest: StoredObjectRef,
  /** The distinct SHA-256 digests the file manifest refers to, sorted, 32 bytes each: what retention marks. */
  digests: StoredObjectRef,
  files: z.number().int().nonnegative(),
  /** Plaintext bytes of all files. */
  bytes: z.number().int().nonnegative(),
  /** Distinct contents among them. */
  contents: z.number().int().nonnegative(),
  /** Contents this backup stored (the others were stored already), and their plaintext bytes. */
  newContents: z.number().int().nonnegative(),
  newBytes: z.number().int().nonnegative(),
  /** Files not read again: key, size and modified time equal to the previous backup's file manifest. */
  unchanged: z.number().int().nonnegative(),
});
export type FileSetRecord = z.infer<typeof FileSetRecord>;

/** Keys per logical database as `INFO keyspace` reports them (`db0:keys=3,expires=1,…`). */
export const RedisKeyspace = z.array(z.object({ db: z.number().int().nonnegative(), keys: z.number().int().nonnegative(), expires: z.number().int().nonnegative() }));
export type RedisKeyspace = z.infer<typeof RedisKeyspace>;

/** A Redis RDB snapshot (`redis-cli --rdb -`) stored through the backup's pipeline. */
export const RedisSnapshot = z.object({
  /** `redis://host:port`, without credentials. */
  source: z.string().min(1),
  redisVersion: z.string(),
  object: StoredObjectRef,
  /** `INFO keyspace` right before the transfer. */
  keyspace: RedisKeyspace,
  /** `INFO keyspace` right after it, when it differs (the source changed meanwhile: the snapshot lies between). */
  keyspaceAfter: RedisKeyspace.optional(),
});
export type RedisSnapshot = z.infer<typeof RedisSnapshot>;

/**
 * `full`: the deployment's whole-database backup with data (its configured `backup.excludeTables`
 * define what whole means). `partial`: narrowed for one run. Only a full backup may supersede,
 * or be promoted over, another full one; restore and the drill choose full backups by default.
 */
export const BackupScope = z.enum(['full', 'partial']);
export type BackupScope = z.infer<typeof BackupScope>;

/**
 * The commit point of a backup: written last, after every object it names has been stored and
 * verified. A backup without a valid manifest does not exist for listing, drills or retention.
 */
export const BackupManifest = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  /** e.g. `2026-11-23-app_db` (daily), `2026-11-app_db` (monthly), `2026-W48-app_db` (weekly). */
  id: z.string().min(1),
  tier: BackupTier,
  /** For a promoted copy: the id of the backup it was copied from. */
  promotedFrom: z.string().optional(),
  database: z.string(),
  source: z.object({ host: z.string(), port: z.number().int(), user: z.string() }),
  serverVersion: z.string(),
  serverMajor: z.number().int().positive(),
  pgDumpVersion: z.string(),
  toolVersion: z.string(),
  format: z.enum(['custom', 'plain']),
  compression: z.object({ algorithm: z.enum(['zstd', 'gzip', 'none']), level: z.number().int() }),
  encryption: EncryptionInfo,
  objects: z.object({ dump: StoredObjectRef, globals: StoredObjectRef.optional() }),
  options: z.object({
    schemaOnly: z.boolean(),
    tables: z.array(z.string()),
    excludeTables: z.array(z.string()),
  }),
  /** `partial` when narrowed by its caller (--tables, --schema-only, --exclude-table); absent in older manifests: see backupSeries. */
  scope: BackupScope.optional(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
  /** Exact row counts read in the snapshot pg_dump dumped (leaf partitions included). */
  tables: z.array(TableCount),
  auditChain: AuditChainHead.nullable(),
  roles: z.array(RoleInfo),
  /** Whether the captured globals carry password hashes (needs a superuser source). */
  rolePasswords: z.boolean(),
  schemaFingerprint: Sha256Hex,
  /** Large objects in the snapshot (pg_dump includes them in whole-database dumps); absent in older manifests. */
  largeObjects: z.number().int().nonnegative().optional(),
  /**
   * Extensions the dump creates (pg_extension in the snapshot; empty for a --tables backup, which
   * pg_dump writes without them); absent in older manifests.
   */
  extensions: z.array(ExtensionInfo).optional(),
  /** File sets captured with the backup (`backup.files`); absent when none is configured and in older manifests. */
  files: z.array(FileSetRecord).optional(),
  /** The Redis snapshot (`backup.redis`); absent when none is configured and in older manifests. */
  redis: RedisSnapshot.optional(),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/**
 * The objects a backup stored under its own key stem: the dump, the role globals when they were
 * captured, each file set's file manifest and digests, the Redis snapshot. (File contents are
 * shared between backups under `content/` and are not among them.)
 */
export function backupObjects(manifest: BackupManifest): StoredObjectRef[] {
  return [
    manifest.objects.dump,
    ...(manifest.objects.globals ? [manifest.objects.globals] : []),
    ...(manifest.files ?? []).flatMap((set) => [set.manifest, set.digests]),
    ...(manifest.redis ? [manifest.redis.object] : []),
  ];
}

/** Every full backup of a database is in this series. */
export const FULL_SERIES = 'full';

/** The series a backup belongs to: retention lets a backup supersede only backups of its own series. */
export interface BackupSeries {
  full: boolean;
  /**
   * `full`, or for a partial backup its selection, which also serves as its label:
   * `partial: schema-only; tables public.a,public.b; exclude-table public.c` (lists sorted).
   */
  series: string;
}

/**
 * The scope the options alone imply: --tables and --schema-only never make a full backup, and
 * `narrowed` says the caller replaced the configured exclusions (--exclude-table).
 */
export function scopeOfOptions(options: { schemaOnly: boolean; tables: readonly string[] }, narrowed = false): BackupScope {
  return narrowed || options.schemaOnly || options.tables.length > 0 ? 'partial' : 'full';
}

/** Scope and series of a backup from its manifest; manifests written before `scope` existed get scopeOfOptions. */
export function backupSeries(manifest: Pick<BackupManifest, 'scope' | 'options'>): BackupSeries {
  const { schemaOnly, tables, excludeTables } = manifest.options;
  if ((manifest.scope ?? scopeOfOptions(manifest.options)) === 'full') return { full: true, series: FULL_SERIES };
  const parts = [
    ...(schemaOnly ? ['schema-only'] : []),
    ...(tables.length > 0 ? [`tables ${[...tables].sort().join(',')}`] : []),
    ...(excludeTables.length > 0 ? [`exclude-table ${[...excludeTables].sort().join(',')}`] : []),
  ];
  return { full: false, series: parts.length > 0 ? `partial: ${parts.join('; ')}` : 'partial' };
}

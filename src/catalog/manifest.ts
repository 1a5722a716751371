import { z } from 'zod';

/** Bumped whenever a reader of an older manifest would misread a newer one. */
export const MANIFEST_FORMAT_VERSION = 1;

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (SHA-256)');

export const BackupTier = z.enum(['daily', 'weekly', 'monthly']);
export type BackupTier = z.infer<typeof BackupTier>;

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
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** The objects a backup stored: the dump, and the role globals when they were captured. */
export function backupObjects(manifest: BackupManifest): StoredObjectRef[] {
  return [manifest.objects.dump, ...(manifest.objects.globals ? [manifest.objects.globals] : [])];
}

import { z } from 'zod';

// One schema for every command. Defaults live here so `pgdrill config --print` shows them.

const positiveInt = z.number().int().positive();

export const StorageConfig = z.strictObject({
  /** `./dir`, `/abs/dir`, `file:///abs/dir` or `s3://bucket/prefix` (PGDRILL_STORAGE). */
  url: z.string().min(1).default('./pgdrill-backups'),
  /** Key prefix of the layout inside the storage: `{prefix}/daily/…`, `{prefix}/manifests/…`. */
  prefix: z.string().regex(/^[^/].*[^/]$|^[^/]$/, 'expected a prefix without leading or trailing "/"').default('backups'),
  s3: z
    .strictObject({
      endpoint: z.url().optional(),
      region: z.string().min(1).default('us-east-1'),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      /** Path-style URLs (`endpoint/bucket/key`); default true when an endpoint is set. */
      forcePathStyle: z.boolean().optional(),
      /** `WHEN_REQUIRED` for non-AWS endpoints (the SDK's 2025 default checksums break them); default chosen from the endpoint. */
      requestChecksumCalculation: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).optional(),
      responseChecksumValidation: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).optional(),
      partSizeMiB: positiveInt.min(5).max(5120).default(16),
      queueSize: positiveInt.max(16).default(2),
      /** How long opening a connection to the endpoint may take (S3_CONNECT_TIMEOUT_MS). */
      connectTimeoutMs: positiveInt.default(10_000),
      /** How long a request may go without progress, nothing sent or received; tried up to 3 times (S3_REQUEST_TIMEOUT_MS). */
      requestTimeoutMs: positiveInt.default(60_000),
    })
    .prefault({}),
});

export const AuditChainConfig = z.strictObject({
  table: z.string().min(1).default('public.audit_logs'),
  orderColumn: z.string().min(1).default('id'),
  hashColumn: z.string().min(1).default('hash'),
  /** Column holding the previous row's hash; null when the chain does not store it (`{prev}` is then the previous row's hash). */
  prevHashColumn: z.string().min(1).nullable().default('prev_hash'),
  /** SQL expression over the row's columns, `{payload}` in hashSql. */
  payloadSql: z
    .string()
    .min(1)
    .default(
      `concat_ws('|', id, actor_id, action, entity_type, entity_id, details::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))`,
    ),
  /**
   * SQL of a row's expected hash, of the hash column's type: `{prev}` the previous hash (NULL for
   * the first row), `{payload}` payloadSql, `{row}` the whole row (e.g. `to_jsonb({row})`).
   */
  hashSql: z
    .string()
    .min(1)
    .refine((sql) => sql.includes('{payload}') || sql.includes('{row}'), 'expected {payload} or {row}: a hash that covers no part of the row verifies nothing')
    .default(`encode(sha256(convert_to(coalesce({prev}, '') || '|' || {payload}, 'UTF8')), 'hex')`),
});

export const BackupConfig = z.strictObject({
  format: z.enum(['custom', 'plain']).default('custom'),
  compression: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
  /** zstd 1..19 (default 1), gzip 1..9 (default 6). */
  compressionLevel: z.number().int().min(1).max(19).optional(),
  tables: z.array(z.string().min(1)).default([]),
  excludeTables: z.array(z.string().min(1)).default(['*._prisma_migrations']),
  schemaOnly: z.boolean().default(false),
  /** Directory with pg_dump / pg_dumpall; default: PATH. */
  binDir: z.string().optional(),
  /** Set to null when the database has no audit hash chain. */
  auditChain: AuditChainConfig.nullable().prefault({}),
  /** Objects without a manifest older than this are removed by prune as leftovers of interrupted runs. */
  orphanGraceHours: z.number().positive().default(24),
});

export const RetentionConfig = z.strictObject({
  daily: z.number().int().nonnegative().default(7),
  weekly: z.number().int().nonnegative().default(0),
  monthly: z.number().int().nonnegative().default(84),
});

export const EncryptionConfig = z.strictObject({
  /** `id:base64key,...`, first is active (PGDRILL_ENCRYPTION_KEYS). */
  keys: z.string().min(1).optional(),
  /** Backups without encryption only when this is set explicitly; the manifest then says so. */
  allowUnencrypted: z.boolean().default(false),
  chunkSize: positiveInt.min(65_536).max(16 * 1024 * 1024).default(1024 * 1024),
});

export const SandboxConfig = z.strictObject({
  kind: z.enum(['auto', 'docker', 'embedded']).default('auto'),
  /** Docker image template; `{major}` becomes the backup's server major version. */
  image: z.string().min(1).default('postgres:{major}'),
  /** Directory with initdb / pg_ctl / pg_restore for the embedded sandbox. */
  binDir: z.string().optional(),
  /** pg_restore --jobs for large restores (from a local file). */
  restoreJobs: positiveInt.max(64).default(2),
});

export const CanaryConfig = z.strictObject({
  table: z.string().default('public.users'),
  usernameColumn: z.string().default('email'),
  hashColumn: z.string().default('password_hash'),
  roleColumn: z.string().default('role'),
  /** Application roles that each need a canary account (seed 001: all 7). */
  roles: z
    .array(z.string())
    .default(['super_admin', 'supervisor', 'enumerator', 'data_entry_clerk', 'verification_assessor', 'government_official', 'public_user']),
  /** Canary username per role; `{role}` is replaced. */
  usernameTemplate: z.string().default('canary+{role}@pgdrill.invalid'),
  /** Environment variable holding the canary accounts' password (never stored in config). */
  passwordEnv: z.string().default('PGDRILL_CANARY_PASSWORD'),
});

export const DrillConfig = z.strictObject({
  /** Newest backup must be younger than this (RPO check). */
  freshnessHours: z.number().positive().default(26),
  freshnessSeverity: z.enum(['fail', 'warn']).default('fail'),
  retentionSeverity: z.enum(['fail', 'warn']).default('warn'),
  /** Allowed relative difference per table count; 0 = exact (counts come from the dump's own snapshot). */
  recordCountTolerance: z.number().min(0).max(1).default(0),
  /** Which older backup to also prove restorable: the oldest monthly still retained, or none. */
  olderBackup: z.enum(['oldest-monthly', 'none']).default('oldest-monthly'),
  /** Login roles that must authenticate after restore: password read from the named env variable. */
  loginRoles: z.array(z.strictObject({ name: z.string().min(1), passwordEnv: z.string().min(1) })).default([]),
  canaries: CanaryConfig.nullable().prefault({}),
  /** Days between drills, for "next drill due". */
  intervalDays: positiveInt.default(30),
  /** The project's own drill files (vitest tests), globs relative to the working directory; run with pgdrill's built-in drill. */
  files: z.array(z.string().min(1)).default(['drills/**/*.drill.{ts,mts,js,mjs}']),
  /** The project's own checks (each file default-exports defineCheck(…)), globs relative to the working directory. */
  checks: z.array(z.string().min(1)).default(['checks/*.{ts,mts,js,mjs}']),
});

export const ReportConfig = z.strictObject({
  /** Who the compliance record belongs to; unset, the report says "not configured" and warns. */
  organisation: z.string().min(1).optional(),
  system: z.string().min(1).optional(),
  dpoContact: z.string().min(1).optional(),
  /** Wording of the control mapping, breach assessment and retention note: `generic` (ISO/IEC 27001) or `ndpa` (Nigeria Data Protection Act 2023). */
  regime: z.enum(['generic', 'ndpa']).default('generic'),
  logoPath: z.string().optional(),
  timeZone: z.string().default('UTC'),
  outDir: z.string().default('reports'),
  rtoTargetMinutes: z.number().positive().default(60),
  rpoTargetHours: z.number().positive().default(24),
  /** Chromium for PDF rendering (PUPPETEER_EXECUTABLE_PATH); default /usr/bin/chromium. */
  chromiumPath: z.string().optional(),
  /** Ed25519 private key (PEM or base64 PKCS#8) to sign evidence (PGDRILL_REPORT_SIGNING_KEY). */
  signingKey: z.string().optional(),
  signoff: z
    .strictObject({
      performedBy: z.string().optional(),
      verifiedBy: z.string().optional(),
      systemOwner: z.string().optional(),
      dpo: z.string().optional(),
    })
    .prefault({}),
  /** Replaces the regime's control mapping. */
  controls: z.array(z.strictObject({ ref: z.string(), text: z.string() })).optional(),
});

export const PgdrillConfig = z.strictObject({
  /** Source database URL (DATABASE_URL). */
  databaseUrl: z.string().optional(),
  /** Patterns (substring of host/db) that mark a production database restore must refuse without --confirm. */
  productionPatterns: z.array(z.string()).default([]),
  storage: StorageConfig.prefault({}),
  backup: BackupConfig.prefault({}),
  retention: RetentionConfig.prefault({}),
  encryption: EncryptionConfig.prefault({}),
  sandbox: SandboxConfig.prefault({}),
  drill: DrillConfig.prefault({}),
  report: ReportConfig.prefault({}),
});

export type PgdrillConfig = z.infer<typeof PgdrillConfig>;
export type PgdrillConfigInput = z.input<typeof PgdrillConfig>;

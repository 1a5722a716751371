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
      /** Multipart part size; a streamed put holds (queueSize + 1) parts in memory. */
      partSizeMiB: positiveInt.min(5).max(5120).default(8),
      queueSize: positiveInt.max(16).default(2),
      /** How long opening a connection to the endpoint may take (S3_CONNECT_TIMEOUT_MS). */
      connectTimeoutMs: positiveInt.default(10_000),
      /** How long a request may go without progress, nothing sent or received; tried up to 3 times (S3_REQUEST_TIMEOUT_MS). */
      requestTimeoutMs: positiveInt.default(60_000),
      /** Listings up to this many keys are sorted in memory; longer ones stream and need a service that lists in byte order. */
      listSortLimit: positiveInt.default(10_000),
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

/** The name of an environment variable (credentials live there, never in the config file). */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable');

/**
 * A set of uploaded files backed up with the database: an S3 prefix (its own endpoint and
 * credentials) or a folder. Every backup records a file manifest; contents are stored once.
 */
export const FileSetConfig = z.strictObject({
  /** Part of object keys and of `pgdrill restore --files NAME`: letters, digits, `_`, `-`. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'expected letters, digits, "_" or "-" (at most 64)'),
  /** `s3://bucket/prefix`, or a folder (`/srv/uploads`, `./uploads`, `file:///srv/uploads`). */
  source: z.string().min(1),
  /** The source bucket's own S3 endpoint and credentials (variables that hold them); default: the SDK's chain. */
  s3: z
    .strictObject({
      endpoint: z.url().optional(),
      region: z.string().min(1).default('us-east-1'),
      forcePathStyle: z.boolean().optional(),
      accessKeyIdEnv: envName.optional(),
      secretAccessKeyEnv: envName.optional(),
      /** Like storage.s3.listSortLimit, for this source (not inherited from it; default 10,000): a source of more keys streams its listing, which needs byte order. */
      listSortLimit: positiveInt.optional(),
    })
    .optional(),
  /**
   * SQL whose first column is the key of a file the database refers to, relative to `source`
   * (e.g. `select storage_key from attachments`); the drill requires each one in the file manifest.
   */
  referencesQuery: z.string().min(1).optional(),
  /** Files read, hashed and uploaded at once. */
  concurrency: positiveInt.max(64).default(8),
});

export type FileSetConfig = z.infer<typeof FileSetConfig>;

/** A Redis whose RDB snapshot is stored with each backup: `url`, or better `urlEnv` (it may carry a password). */
export const RedisBackupConfig = z
  .strictObject({
    url: z.string().min(1).optional(),
    urlEnv: envName.optional(),
  })
  .refine((r) => (r.url === undefined) !== (r.urlEnv === undefined), { message: 'set exactly one of url and urlEnv' });

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
  /**
   * Seconds the source (and a restore target) may take to answer a new connection, when neither the
   * URL's connect_timeout nor PGCONNECT_TIMEOUT says (those follow libpq: 0 waits indefinitely).
   */
  connectTimeoutSeconds: positiveInt.default(30),
  /**
   * Seconds the backup's snapshot transaction and pg_dump wait for a table lock another session
   * holds (a migration, VACUUM FULL, a forgotten open transaction) before the backup fails naming it.
   */
  lockWaitTimeoutSeconds: positiveInt.default(300),
  /** File sets stored with every full backup (uploaded files an S3 prefix or a folder holds). */
  files: z
    .array(FileSetConfig)
    .default([])
    .refine((sets) => new Set(sets.map((f) => f.name)).size === sets.length, { message: 'file set names must be unique' }),
  /** A Redis (e.g. BullMQ's) whose RDB snapshot is stored with every full backup. */
  redis: RedisBackupConfig.optional(),
});

const keepCount = z.number().int().nonnegative();

/**
 * How many periods each tier keeps. Every backup is a daily-tier backup; `hourly` is a window over
 * them (the newest backup of each of the last N hours with backups), `true` meaning 24. Weekly,
 * monthly, quarterly and yearly copies are promoted from the period's first full daily.
 */
export const RetentionConfig = z.strictObject({
  hourly: z
    .union([keepCount, z.boolean()])
    .default(0)
    .transform((n) => (n === true ? 24 : n === false ? 0 : n)),
  daily: keepCount.default(7),
  weekly: keepCount.default(0),
  monthly: keepCount.default(84),
  quarterly: keepCount.default(0),
  yearly: keepCount.default(0),
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

const Severity = z.enum(['fail', 'warn']);

export const DrillConfig = z
  .strictObject({
    /** Newest backup must be younger than this (RPO check). */
    freshnessHours: z.number().positive().default(26),
    freshnessSeverity: Severity.default('fail'),
    /** A month inside the retention window without its monthly copy (default `fail`: that restore point is gone for good). */
    monthlyGapSeverity: Severity.optional(),
    /** A day of the last `retention.daily` days without a backup (default `warn`: the freshness check judges the newest one). */
    dailyGapSeverity: Severity.optional(),
    /** @deprecated Since 0.3.0: sets both `monthlyGapSeverity` and `dailyGapSeverity` where they are not set. */
    retentionSeverity: Severity.optional(),
    /** Every retained archive is fully verified (download, SHA-256, decryption, pg_restore --list) at least once per this many months. */
    reverifyMonths: positiveInt.max(120).default(12),
    /** Allowed relative difference per table count; 0 = exact (counts come from the dump's own snapshot). */
    recordCountTolerance: z.number().min(0).max(1).default(0),
    /** Which older backup to also prove restorable: the oldest monthly still retained, or none. */
    olderBackup: z.enum(['oldest-monthly', 'none']).default('oldest-monthly'),
    /** Login roles that must authenticate after restore: password read from the named env variable. */
    loginRoles: z.array(z.strictObject({ name: z.string().min(1), passwordEnv: z.string().min(1) })).default([]),
    canaries: CanaryConfig.nullable().prefault({}),
    /**
     * Stored file contents the drill downloads, decrypts and hashes per file set: the larger of
     * `objects` and `percent` % of the files (`pgdrill drill --full`: all of them).
     */
    fileSample: z.strictObject({ objects: z.number().int().nonnegative().default(100), percent: z.number().min(0).max(100).default(1) }).prefault({}),
    /** Days between drills, for "next drill due". */
    intervalDays: positiveInt.default(30),
    /** The project's own drill files (vitest tests), globs relative to the working directory; run with pgdrill's built-in drill. */
    files: z.array(z.string().min(1)).default(['drills/**/*.drill.{ts,mts,js,mjs}']),
    /** The project's own checks (each file default-exports defineCheck(…)), globs relative to the working directory. */
    checks: z.array(z.string().min(1)).default(['checks/*.{ts,mts,js,mjs}']),
  })
  // The deprecated alias resolves here, so everything downstream (and `config --print`) sees the two keys only.
  .transform(({ retentionSeverity, monthlyGapSeverity, dailyGapSeverity, ...drill }) => ({
    ...drill,
    monthlyGapSeverity: monthlyGapSeverity ?? retentionSeverity ?? 'fail',
    dailyGapSeverity: dailyGapSeverity ?? retentionSeverity ?? 'warn',
  }));

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

/**
 * Why an SMTP URL cannot be used, or undefined when it can: `smtp://[user@]host[:port]` (STARTTLS
 * when offered) or `smtps://` (TLS from the start). The password never sits in the URL (it would
 * be shown in process listings, shell history and config files): PGDRILL_SMTP_PASSWORD carries it.
 */
export function smtpUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'expected smtp://user@host:587 or smtps://user@host:465';
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') return `expected smtp:// or smtps://, not ${parsed.protocol}//`;
  if (!parsed.hostname) return 'the URL names no host';
  if (parsed.password) return 'a password in the URL is refused; give it in PGDRILL_SMTP_PASSWORD (config notify.email.password) and write the URL as smtp://user@host:587';
  return undefined;
}

/** An e-mail address as pgdrill accepts it: one local part, one domain with a dot, no spaces or brackets. */
export const EMAIL_ADDRESS = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+\.[^\s@<>()[\]",;:\\.]+$/;
const EmailAddress = z.string().regex(EMAIL_ADDRESS, 'expected an e-mail address like ops@example.org');

/** Which success messages are sent; failures always are. */
export const NotifyOnSuccess = z.enum(['never', 'after-failure', 'always']);

/** Who receives e-mail: a fixed list and/or addresses read from the source database. */
const RecipientFields = {
  /** Fixed recipients (PGDRILL_NOTIFY_EMAIL, comma-separated). */
  to: z.array(EmailAddress).optional(),
  /**
   * SQL run read-only against the source database whose first column holds addresses, e.g.
   * `select email from users where role = 'super_admin' and is_active`. If it fails, `to` is used.
   */
  recipientsQuery: z.string().min(1).optional(),
};

export const EmailNotifyConfig = z.strictObject({
  /** `smtp://user@host:587` or `smtps://user@host:465`, never with a password (PGDRILL_SMTP_URL). */
  smtpUrl: z
    .string()
    .optional()
    .superRefine((url, context) => {
      const problem = url === undefined ? undefined : smtpUrlProblem(url);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  /** SMTP password of the URL's user (PGDRILL_SMTP_PASSWORD). */
  password: z.string().min(1).optional(),
  /** Sender address (PGDRILL_MAIL_FROM). */
  from: EmailAddress.optional(),
  ...RecipientFields,
  /** A drill's PDF larger than this (bytes; default 10 MB) is named in the message instead of attached. */
  attachMaxBytes: positiveInt.default(10_000_000),
  /**
   * Refuse to send without TLS (STARTTLS on smtp://). Default: required when a password is sent to
   * a host other than this machine (a relay on 127.0.0.1 may speak plain SMTP).
   */
  requireTls: z.boolean().optional(),
  /** Connect, greeting and idle limit of the SMTP conversation. */
  timeoutMs: positiveInt.default(30_000),
  /** How long the recipients query may run. */
  queryTimeoutMs: positiveInt.default(5_000),
});

const WebhookCommon = {
  /** Name in logs and metrics; default the format (`slack`, `json`, `pagerduty`), numbered when repeated. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'expected a short name of letters, digits, ".", "_" or "-"').optional(),
  timeoutMs: positiveInt.default(10_000),
};
/** Webhook URLs are secrets (a Slack URL is its own credential): config names the variable that holds one. */
const urlEnv = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable');

export const WebhookConfig = z.discriminatedUnion('format', [
  z.strictObject({ format: z.literal('slack'), ...WebhookCommon, urlEnv: urlEnv.default('PGDRILL_WEBHOOK_URL') }),
  z.strictObject({
    format: z.literal('json'),
    ...WebhookCommon,
    urlEnv: urlEnv.default('PGDRILL_WEBHOOK_URL'),
    /** Variable holding the HMAC-SHA256 key that signs each body (X-Pgdrill-Signature). */
    secretEnv: urlEnv.default('PGDRILL_WEBHOOK_SECRET'),
  }),
  z.strictObject({
    format: z.literal('pagerduty'),
    ...WebhookCommon,
    /** Variable holding the Events API URL; unset: https://events.pagerduty.com/v2/enqueue. */
    urlEnv: urlEnv.optional(),
    /** Variable holding the Events API v2 integration (routing) key. */
    routingKeyEnv: urlEnv.default('PGDRILL_PAGERDUTY_ROUTING_KEY'),
  }),
]);

/**
 * Notifications, at the top level and (as NotifyOverride) per database of a fleet. E-mail is on
 * when `email.smtpUrl` is set; webhooks when listed, or, with `webhooks` absent, when
 * PGDRILL_WEBHOOK_URL is set (one webhook of `webhookFormat`).
 */
export const NotifyConfig = z.strictObject({
  /** `after-failure`: failures, plus the first success after failures. */
  onSuccess: NotifyOnSuccess.default('after-failure'),
  email: EmailNotifyConfig.prefault({}),
  webhooks: z.array(WebhookConfig).optional(),
  /** Format of the webhook at PGDRILL_WEBHOOK_URL when `webhooks` is absent (PGDRILL_WEBHOOK_FORMAT). */
  webhookFormat: z.enum(['slack', 'json', 'pagerduty']).default('json'),
});

/** What one database of a fleet may set differently: who is told, where, and about which successes. */
export const NotifyOverride = z.strictObject({
  onSuccess: NotifyOnSuccess.optional(),
  email: z.strictObject({ from: EmailAddress.optional(), ...RecipientFields }).optional(),
  webhooks: z.array(WebhookConfig).optional(),
});

/** A cron pattern (5 or 6 fields), or null for "never". */
const Cron = z.string().regex(/^\S+(\s+\S+){4,5}$/, 'expected a cron pattern such as "0 1 * * *"');

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable');

/**
 * Point-in-time recovery drills of a pgBackRest repository (`pgdrill drill --pitr`, `pgdrill pitr
 * mark|doctor`). pgdrill only reads the repository: restores run with --archive-mode=off into a
 * private data directory.
 */
export const PitrConfig = z.strictObject({
  tool: z.literal('pgbackrest').default('pgbackrest'),
  /** The pgBackRest stanza of this database. */
  stanza: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a pgBackRest stanza name (letters, digits, "_", "." or "-")'),
  /** pgbackrest.conf to read (default: pgBackRest's own, /etc/pgbackrest/pgbackrest.conf). */
  config: z.string().min(1).optional(),
  /**
   * Repository options as pgBackRest names them (`repo1-path`, `repo1-type`, `repo1-s3-bucket`, …),
   * given to pgBackRest as its PGBACKREST_* environment, never on a command line. Secrets belong in
   * the environment (PGBACKREST_REPO1_S3_KEY_SECRET, …), which pgdrill passes on.
   */
  options: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a pgBackRest option name such as "repo1-path"'), z.union([z.string(), z.number(), z.boolean()]))
    .refine((options) => !Object.keys(options).some((name) => /cipher-pass$/.test(name)), {
      message: 'the cipher pass is a secret: name the variable that holds it in pitr.cipherPassEnv instead',
    })
    .default({}),
  /** Environment variable holding the repository's cipher pass (repo1-cipher-pass), for an encrypted repository. */
  cipherPassEnv: EnvName.optional(),
});

/** When the service runs each job (cron patterns in `timeZone`). */
export const ScheduleConfig = z.strictObject({
  /** IANA time zone of the cron patterns. */
  timeZone: z.string().default('UTC'),
  /** Daily backup at 01:00 (seed 001: 02:00 WAT = 01:00 UTC). */
  backup: Cron.nullable().default('0 1 * * *'),
  /** Monthly drill at 03:00 on the 1st. */
  drill: Cron.nullable().default('0 3 1 * *'),
  /** Full verification of the new backup: after each backup, or on its own cron, or never. */
  verify: z.union([z.literal('after-backup'), Cron]).nullable().default('after-backup'),
  /** Retention: after each backup, or on its own cron, or never. */
  prune: z.union([z.literal('after-backup'), Cron]).nullable().default('after-backup'),
  /** A point-in-time marker in the source (`pgdrill pitr mark`), hourly; only for databases with `pitr`. */
  pitrMark: Cron.nullable().default('0 * * * *'),
});

/** `name:role:sha256-hex of the token`, as `pgdrill tokens create` prints it (PGDRILL_API_TOKENS). */
export const API_TOKEN_ENTRY = /^[A-Za-z0-9_.@-]{1,64}:(admin|viewer):[0-9a-f]{64}$/;

/** The admin HTTP API and page that `pgdrill serve` serves (src/api). */
export const ApiConfig = z.strictObject({
  /** Whether `pgdrill serve` serves the API and page (`--no-api` turns them off). */
  enabled: z.boolean().default(true),
  /** Port of the API and page (`pgdrill serve --port`; 0: any free port, logged). */
  port: z.number().int().min(0).max(65535).default(8734),
  /** Address to bind (`--host`); anything but loopback is exposed and wants a TLS proxy in front (publicUrl https://). */
  host: z.string().min(1).default('127.0.0.1'),
  /**
   * The address people use, behind the TLS-terminating proxy, e.g. `https://backups.example.org`.
   * An https:// URL is how pgdrill knows a TLS proxy is configured: cookies are then `Secure`
   * and exposing the port (`--host 0.0.0.0`) brings no warning.
   */
  publicUrl: z.url().optional(),
  /** API tokens as `name:role:sha256hex` (PGDRILL_API_TOKENS, comma-separated); never the tokens themselves. */
  tokens: z.array(z.string().regex(API_TOKEN_ENTRY, 'expected name:admin|viewer:<64 hex> as `pgdrill tokens create` prints it')).default([]),
  /** bcrypt hash of the page's admin password (PGDRILL_API_PASSWORD_HASH; `pgdrill tokens password` makes one); unset: token login only. */
  passwordHash: z.string().regex(/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/, 'expected a bcrypt hash ($2b$12$…)').optional(),
  /** A page session (cookie) lasts this long without being renewed. */
  sessionHours: z.number().positive().max(24 * 30).default(8),
  /** Login attempts per client address and minute, failed or not; more are answered 429. */
  loginAttemptsPerMinute: positiveInt.default(5),
  /** At most one manual backup per database in this many minutes (429 with Retry-After). */
  manualBackupIntervalMinutes: z.number().nonnegative().default(60),
  /** A backup younger than this is never deleted through the API. */
  deleteMinAgeHours: z.number().nonnegative().default(24),
  /** Largest request body accepted (413 above). */
  bodyLimitBytes: positiveInt.default(16 * 1024),
  /** How long the cached catalog is served before it is compared with a fresh storage listing (it is also refreshed when a backup, prune or delete completes). */
  catalogMaxAgeSeconds: z.number().nonnegative().default(60),
  /** Who to call when a restore is needed, on the page's restore instructions (default report.dpoContact). */
  emergencyContact: z.string().min(1).optional(),
});

/** The job service (`pgdrill serve`, `worker`, `run`, `status`). */
export const ServiceConfig = z.strictObject({
  /** Shared Redis (REDIS_URL); without it `pgdrill serve` starts a private redis-server in stateDir. */
  redisUrl: z.string().optional(),
  /** Private state: the embedded Redis, its password, leftovers of killed runs (PGDRILL_STATE_DIR). */
  stateDir: z.string().default('.pgdrill'),
  /** Prefix of every Redis key, so several pgdrill deployments can share one Redis. */
  queuePrefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('pgdrill'),
  /** Retries after a failed attempt, with these delays in seconds (PGDRILL_RETRY_BACKOFF: 60,300,900). */
  retryBackoffSeconds: z.array(z.number().nonnegative()).default([60, 300, 900]),
  /** Jobs of a kind one worker runs at once; a drill is CPU-heavy. */
  concurrency: z
    .strictObject({ backup: positiveInt.default(1), drill: positiveInt.default(1), verify: positiveInt.default(1), prune: positiveInt.default(1), 'pitr-mark': positiveInt.default(1) })
    .prefault({}),
  /** On SIGTERM, how long the running jobs may take to finish before they are aborted. */
  shutdownGraceSeconds: z.number().nonnegative().default(60),
  /** How soon a job of a killed worker is taken up by another (BullMQ lock and stall check). */
  lockSeconds: positiveInt.default(30),
  /** Port of /metrics (`--metrics-port`); none when unset. */
  metricsPort: z.number().int().min(0).max(65535).optional(),
  /** How often the health monitors run besides after each job. */
  monitorIntervalMinutes: z.number().positive().default(15),
  /** The admin API and page of `pgdrill serve`. */
  api: ApiConfig.prefault({}),
});

/**
 * One database of a fleet. What is not set here comes from the top level (storage, schedule,
 * notifications); the single-database configuration (`databaseUrl`) is a fleet of one.
 */
export const DatabaseEntry = z
  .strictObject({
    /** Name in queues, metrics, notifications and `--database` (letters, digits, `_.-`). */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, "_", "." or "-"'),
    /** postgres:// URL; better `urlEnv`, the name of the environment variable that holds it. */
    url: z.string().optional(),
    urlEnv: z.string().optional(),
    storage: z.strictObject({ url: z.string().min(1).optional(), prefix: z.string().optional() }).optional(),
    schedule: ScheduleConfig.partial().optional(),
    /** Who is told about this database, if not the top level's recipients and webhooks. */
    notify: NotifyOverride.optional(),
    /** Point-in-time recovery of this database (its pgBackRest stanza); replaces the top level's `pitr`. */
    pitr: PitrConfig.optional(),
  })
  .refine((d) => (d.url === undefined) !== (d.urlEnv === undefined), { message: 'set exactly one of url and urlEnv' });

/** Limits of the health monitors the service evaluates after each job and on a schedule (src/health). */
export const MonitorsConfig = z.strictObject({
  /** The newest valid full backup may be this old before `backup-age` fires (seed 002: 26 h). */
  backupMaxAgeHours: z.number().positive().default(26),
  /** `backup-size-change` fires when the newest backup's size differs from the previous one's by more than this share of it (0.5 = 50 %, either way). */
  sizeChangeRatio: z.number().positive().default(0.5),
  /** `disk-free` fires when a folder store's or the temp folder's file system has less than this share free (0.2: the 80 % used alert of seed 003). */
  diskFreeMinRatio: z.number().min(0).max(1).default(0.2),
  /** Days past `drill.intervalDays` before `drill-overdue` fires. */
  drillOverdueGraceDays: z.number().nonnegative().default(2),
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
  schedule: ScheduleConfig.prefault({}),
  service: ServiceConfig.prefault({}),
  /** A fleet: the databases the service backs up and drills (default: the one databaseUrl). */
  databases: z.array(DatabaseEntry).optional(),
  monitors: MonitorsConfig.prefault({}),
  notify: NotifyConfig.prefault({}),
  /** Point-in-time recovery drills of a pgBackRest repository; absent: none. */
  pitr: PitrConfig.optional(),
});

export type PgdrillConfig = z.infer<typeof PgdrillConfig>;
export type PgdrillConfigInput = z.input<typeof PgdrillConfig>;
export type NotifyConfig = z.infer<typeof NotifyConfig>;
export type NotifyOverride = z.infer<typeof NotifyOverride>;
export type WebhookConfig = z.infer<typeof WebhookConfig>;
export type PitrConfig = z.infer<typeof PitrConfig>;

import { z } from 'zod';
import { BackupManifest, BackupTier, Sha256Hex } from '../catalog/index.ts';

// Request and response schemas of the admin API, in zod: requests are parsed with them, and the
// OpenAPI document (openapi.ts) is generated from them, so the two cannot disagree.

/** `{database}:{tier}:{backup id}`, e.g. `oslrs:daily:2026-11-23-oslrs`: names one backup of one fleet database. */
export const BackupRef = z.string().max(300).describe('`{database}:{tier}:{backup id}`, e.g. `oslrs:daily:2026-11-23-oslrs`');
/** `{database}:{drill id}`. */
export const DrillRef = z.string().max(300).describe('`{database}:{drill id}`, e.g. `oslrs:drill-20261201T030000Z-oslrs`');
/** `{kind}:{job id}`: BullMQ numbers jobs per queue. */
export const JobRef = z.string().max(100).describe('`{kind}:{job id}`, e.g. `backup:17`');

export const IdParams = z.strictObject({ id: z.string().max(300) });

export const ErrorBody = z.object({
  error: z.string().describe('HTTP reason, e.g. Conflict'),
  message: z.string().describe('What failed and what to do'),
  retryAfterSeconds: z.number().int().optional(),
});

const Day = z.iso.date().describe('YYYY-MM-DD (UTC)');

export const BackupListQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  limit: z.coerce.number().int().min(1).max(200).default(25),
  database: z.string().max(64).optional(),
  tier: BackupTier.optional(),
  status: z.enum(['ok', 'failed', 'running', 'invalid']).optional(),
  from: Day.optional().describe('created on or after this day (UTC)'),
  to: Day.optional().describe('created on or before this day (UTC)'),
  sort: z.enum(['created', 'size', 'duration', 'tier', 'database', 'status']).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type BackupListQuery = z.infer<typeof BackupListQuery>;

export const Expiry = z.object({
  at: z.iso.datetime().nullable().describe('when retention is expected to delete it; null: not while the reason holds'),
  reason: z.string(),
});

export const Deletable = z.object({
  allowed: z.boolean(),
  reason: z.string().optional().describe('why DELETE refuses it'),
  forceable: z.boolean().describe('whether `force: true` (with a reason) overrides the refusal'),
});

export const BackupItem = z.object({
  id: z.string().describe('a BackupRef for a backup; `job:{kind}:{id}` for a failed or running job'),
  status: z.enum(['ok', 'failed', 'running', 'invalid']),
  database: z.string(),
  tier: BackupTier.nullable(),
  created: z.iso.datetime().nullable(),
  finished: z.iso.datetime().nullable(),
  durationMs: z.number().nullable(),
  duration: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  size: z.string().nullable(),
  sha256: Sha256Hex.nullable(),
  key: z.string().nullable(),
  scope: z.string().nullable().describe('`full` or the partial selection'),
  expiry: Expiry.nullable(),
  deletable: Deletable.nullable(),
  error: z.string().nullable().describe('failed job: its last error; invalid manifest: why it does not validate'),
  job: z.string().nullable().describe('the JobRef of a failed or running job'),
  progress: z.unknown().optional(),
});
export type BackupItem = z.infer<typeof BackupItem>;

const Badge = z.enum(['green', 'amber', 'red']);

export const BackupSummary = z.object({
  count: z.number().int(),
  totalBytes: z.number(),
  totalSize: z.string(),
  lastSuccessful: z
    .object({ id: z.string(), database: z.string(), created: z.iso.datetime(), sizeBytes: z.number(), size: z.string(), ageMs: z.number(), age: z.string(), badge: Badge })
    .nullable(),
  lastFailed: z.object({ job: z.string(), database: z.string(), at: z.iso.datetime(), error: z.string() }).nullable(),
  nextScheduled: z.object({ database: z.string(), kind: z.string(), at: z.iso.datetime() }).nullable(),
});

export const BackupList = z.object({
  page: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
  pages: z.number().int(),
  items: z.array(BackupItem),
  summary: BackupSummary,
  catalogAt: z.iso.datetime().describe('when the storage catalog was last read'),
});

export const BackupDetail = z.object({ id: z.string(), database: z.string(), manifestKey: z.string(), manifest: BackupManifest, expiry: Expiry, deletable: Deletable });

export const Download = z.object({
  method: z.enum(['presigned-url', 'stream']),
  url: z.string().describe('a presigned S3 GET (expires in 15 minutes), or this API\'s stream of the object'),
  expiresAt: z.iso.datetime().nullable(),
  key: z.string(),
  sizeBytes: z.number(),
  sha256: Sha256Hex.describe('SHA-256 of the downloaded (encrypted) bytes'),
  encryption: z.string().describe('`aes-256-gcm-stream-v1 key <id>` or `none`'),
  decrypt: z.string().describe('how to turn the download into a pg_restore archive'),
});

export const TriggerBody = z.strictObject({ database: z.string().max(64).optional() });
export const Triggered = z.object({ job: JobRef, database: z.string(), kind: z.string(), status: z.string() });

export const DeleteBody = z.strictObject({
  reason: z.string().trim().min(3).max(500).describe('why (recorded in the audit trail)'),
  force: z.boolean().default(false).describe('overrides the refusal of a monthly copy inside its retention period'),
});
export const Deleted = z.object({ id: z.string(), deleted: z.literal(true), keys: z.array(z.string()) });

export const JobView = z.object({
  job: JobRef,
  kind: z.string(),
  database: z.string(),
  trigger: z.string(),
  state: z.string().describe('waiting, active, completed, failed, delayed (retrying) …'),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  progress: z.unknown(),
  error: z.string().nullable(),
  summary: z.string().nullable(),
  created: z.iso.datetime(),
  finished: z.iso.datetime().nullable(),
});

export const DrillItem = z.object({
  id: DrillRef,
  database: z.string(),
  drillId: z.string(),
  started: z.iso.datetime(),
  verdict: z.enum(['PASS', 'FAIL']),
  rtoMs: z.number(),
  rto: z.string(),
  backup: z.string(),
  failedChecks: z.array(z.string()),
  signed: z.boolean(),
  pdf: z.string(),
  html: z.string(),
});
export const DrillList = z.object({ items: z.array(DrillItem) });

export const LoginBody = z.union([z.strictObject({ token: z.string().min(1).max(200) }), z.strictObject({ password: z.string().min(1).max(200) })]);
export const SessionView = z.object({ name: z.string(), role: z.enum(['admin', 'viewer']), csrfToken: z.string().nullable(), expiresInSeconds: z.number().nullable() });

export const AuditEntryView = z.object({
  seq: z.number().int(),
  at: z.iso.datetime(),
  actor: z.string(),
  role: z.string(),
  action: z.string(),
  outcome: z.string(),
  target: z.string().nullable(),
  detail: z.string().nullable(),
  client: z.string().nullable(),
  sha256: Sha256Hex,
  previousSha256: Sha256Hex.nullable(),
});
export const AuditList = z.object({
  items: z.array(AuditEntryView),
  chain: z.object({ ok: z.boolean(), checked: z.number().int(), problems: z.array(z.string()) }),
});
export const AuditQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export const ChartPoint = z.object({ database: z.string(), day: Day, sizeBytes: z.number(), durationMs: z.number() });
export const Chart = z.object({ from: Day, to: Day, points: z.array(ChartPoint) });

export const Deployment = z.object({
  version: z.string(),
  storage: z.string().describe('where backups live, without credentials'),
  databases: z.array(z.object({ name: z.string(), schedule: z.record(z.string(), z.string().nullable()), restore: z.array(z.string()) })),
  rpoTargetHours: z.number(),
  rtoTargetMinutes: z.number(),
  backupMaxAgeHours: z.number(),
  emergencyContact: z.string().nullable(),
  manualBackupIntervalMinutes: z.number(),
  deleteMinAgeHours: z.number(),
});

export const Health = z.object({ status: z.literal('ok') });

import type { Pool } from 'pg';
import type { PgdrillConfig } from '../config/index.ts';
import type { BackupManifest, BackupTier, RedisKeyspace } from '../catalog/index.ts';
import type { CheckStatus } from '../evidence/index.ts';
import type { ExtensionComparison, RecordCountComparison } from '../inspect/index.ts';
import type { PitrOutcome } from '../pitr/index.ts';
import type { RestoreObjectFailure } from '../restore/index.ts';

// What a check sees and returns. Light on purpose (types and one identity function): checks/ and
// users' own check files import this module without loading the drill runner.

export type { CheckStatus, PitrOutcome };

/** What a check returns: its verdict, one line for the report, and evidence for the JSON record. */
export interface CheckOutcome {
  status: CheckStatus;
  /** One line of evidence, e.g. "42 tables, 1,204,311 rows: all counts match". */
  summary: string;
  /** Structured evidence (counts, ids, first broken link): JSON only, never personal data. */
  evidence?: Record<string, unknown>;
}

/** One backup in storage as the drill saw it (for freshness and retention checks). */
export interface CatalogItem {
  id: string;
  tier: BackupTier;
  database: string;
  startedAt: string;
  finishedAt: string;
  /** Whole database with data; freshness and retention coverage count only full backups. */
  full: boolean;
  /** `full`, or the partial selection (backupSeries). */
  series: string;
}

export interface RestoreOutcome {
  ok: boolean;
  /** Which stage failed: locating, download/verification, sandbox start or restore. */
  failedStage?: 'locate' | 'verify' | 'sandbox' | 'restore';
  error?: string;
  /** errorKind(): class name, with the crypto code, e.g. `IntegrityError`, `CryptoError WRONG_KEY`. */
  errorKind?: string;
  /**
   * pg_restore ran to its end but some archive entries failed: the database holds the rest, the
   * checks run on it (so they name what was lost), and the drill fails.
   */
  partial?: {
    /** Every error pg_restore reported, resolved to its object. */
    failures: RestoreObjectFailure[];
    /** pg_restore's own closing count ("errors ignored on restore: N"). */
    errorsReported: number;
  };
}

export interface OlderBackupOutcome {
  id: string;
  takenAt: string;
  encryptionKeyId: string | null;
  status: 'pass' | 'fail' | 'skipped';
  detail: string;
}

/** One retained archive's latest verification, as the drill leaves the ledger. */
export interface ArchiveVerificationItem {
  id: string;
  tier: BackupTier;
  takenAt: string;
  /** When it was last verified (the verifying drill's clock); null when never. */
  verifiedAt: string | null;
  ok: boolean | null;
  errorKind?: string;
  error?: string;
  /** `verify` (download, SHA-256, decryption, pg_restore --list) or `restore` (downloaded, hashed and decrypted for a drill's restore). */
  method?: 'verify' | 'restore';
  /** Verified by this drill, and why it was chosen (`never verified`, `least recently verified`, `restored`, …). */
  thisDrill?: string;
}

/** The drill's archive verification pass and the ledger after it (drill.reverifyMonths). */
export interface ArchiveVerificationOutcome {
  reverifyMonths: number;
  /** Every retained archive of the database under test, oldest first, with its latest verification. */
  archives: ArchiveVerificationItem[];
  /** Retained archives whose latest verification passed less than reverifyMonths before the drill's clock. */
  verifiedWithin: number;
  /** The oldest of those latest successful verifications; null when none passed. */
  oldestVerifiedAt: string | null;
  /** Stored bytes the pass downloaded and verified (archives restored by this drill not included) and how long it took. */
  pass: { archives: number; bytes: number; durationMs: number };
  /** ceil(retained / reverifyMonths): the least recently verified archives re-verified per drill, besides new ones. */
  quota: number;
  /** The ledger record this drill filed; null when it verified nothing or could not file it. */
  ledgerKey: string | null;
  /** Ledger records that could not be read (their archives count as not verified). */
  unreadableRecords: string[];
  /** The pass could not run or finish (storage, missing pg_restore): the message. */
  error?: string;
}

/** A file set of the backup under test, as the drill found it (the `file-references` check judges it). */
export interface FileSetOutcome {
  name: string;
  /** Where its files were read, without credentials. */
  source: string;
  files: number;
  contents: number;
  /** The file manifest, fetched and verified to a private temp folder (removed at teardown); null when it could not be. */
  manifestPath: string | null;
  /** The configured `referencesQuery`, or null. */
  referencesQuery: string | null;
  /** Stored contents downloaded, decrypted and hashed against the manifest (`drill.fileSample`, all with `--full`). */
  sample: {
    planned: number;
    /** Every file was verified (`--full`, or a sample as large as the set). */
    full: boolean;
    verified: number;
    failed: number;
    /** The first failures: key and what was wrong (missing, damaged). */
    failures: Array<{ key: string; error: string }>;
  };
  /** Why the file manifest could not be fetched. */
  error?: string;
}

/** The backup's Redis snapshot loaded into a throwaway redis-server (the `redis-keyspace` check judges it). */
export interface RedisOutcome {
  /** Keys per logical database when the snapshot was taken (before, and after when it changed meanwhile). */
  expected: RedisKeyspace;
  expectedAfter?: RedisKeyspace;
  /** `INFO keyspace` of the throwaway server after loading the RDB; null when it never got there. */
  restored: RedisKeyspace | null;
  /** redis-server's version that loaded it. */
  serverVersion?: string;
  error?: string;
}

/**
 * Everything the drill's global setup learned, handed to every drill file (vitest `provide`) and
 * to the reporter. Serializable; the sandbox URI carries the sandbox's throwaway password.
 */
export interface DrillState {
  drillId: string;
  startedAt: string;
  now: string;
  /** Backups in storage (valid manifests only), oldest first. */
  catalog: CatalogItem[];
  invalidManifests: string[];
  manifest: BackupManifest | null;
  /** SHA-256 of what was actually downloaded / decrypted (null when it never got that far). */
  verified: { storedSha256: string | null; plaintextSha256: string | null };
  restore: RestoreOutcome;
  sandbox: { kind: 'docker' | 'embedded'; description: string; serverVersion: string; uri: string } | null;
  /** countMs: the record-count comparison right after the restore (part of the checks' time). */
  timings: { downloadMs: number | null; decryptMs: number | null; restoreMs: number | null; countMs: number | null };
  timeline: Array<{ step: string; at: string; detail?: string }>;
  olderBackup: OlderBackupOutcome | null;
  /** Restored row counts against the backup's snapshot, taken right after the restore; null when nothing was restored. */
  recordCounts: RecordCountComparison | null;
  /** The backup's extensions against what the sandbox offers, read before restoring; null when not compared (no sandbox, or an older manifest). */
  extensions: ExtensionComparison | null;
  /** Retained archives verified by this drill and the ledger; null when no backup was located. */
  archiveVerification: ArchiveVerificationOutcome | null;
  /**
   * When the first full backup of this database was taken as far as storage remembers: the
   * catalog's earliest, or an earlier one the verification ledger recorded (a deleted oldest
   * monthly is then a gap, not a month "not yet due"). Null when no backup was located.
   */
  firstFullBackupAt: string | null;
  /** The backup's file sets, fetched and sampled; empty when it has none (absent in states of older drills). */
  fileSets?: FileSetOutcome[];
  /** The backup's Redis snapshot restored; null when it has none. */
  redis?: RedisOutcome | null;
  /**
   * A point-in-time drill (`pgdrill drill --pitr`): the pgBackRest set, target and where recovery
   * ended. `manifest` is then null (no dump was restored); absent in a dump drill.
   */
  pitr?: PitrOutcome;
  /** Config sections checks use (no secrets: the report signing key stays in the main process). */
  config: Pick<PgdrillConfig, 'drill' | 'retention'> & { auditChain: PgdrillConfig['backup']['auditChain'] };
}

/** What a check gets: the restored database and what the drill knows about the backup. */
export interface CheckContext {
  /** Pool on the restored database (sandbox superuser). */
  db: Pool;
  manifest: BackupManifest;
  state: DrillState;
}

/** What a check gets in a point-in-time drill: the recovered cluster and what the drill knows about it (no dump manifest). */
export interface PointInTimeCheckContext {
  /** Pool on the recovered database (the cluster's superuser, over the sandbox's private socket). */
  db: Pool;
  pitr: PitrOutcome;
  state: DrillState;
}

/** A built-in or custom check defined in `checks/` with `defineCheck`. */
export interface DrillCheck {
  id: string;
  title: string;
  description: string;
  /** False for checks that judge storage, not the restored database (they run even when restore failed). */
  needsDatabase?: boolean;
  run(context: CheckContext): Promise<CheckOutcome>;
  /**
   * In a point-in-time drill (`drill --pitr`): how the check runs there, or why it does not apply
   * (reported as skipped with that reason). Absent: skipped as written for dump drills.
   */
  pointInTime?: ((context: PointInTimeCheckContext) => Promise<CheckOutcome>) | string;
}

/** Declares a check in a `checks/` file; drill files register them with `registerChecks`. */
export function defineCheck(check: DrillCheck): DrillCheck {
  return check;
}

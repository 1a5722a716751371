import type { Verdict } from '../evidence/index.ts';

// What pgdrill tells people, as data: the service (and a drill run) build these; each notifier
// (console, email, webhooks, paging) renders them its own way. Never a secret, connection string or
// row of personal data in any field.

export type Severity = 'info' | 'warning' | 'critical';
export type JobKind = 'backup' | 'drill' | 'verify' | 'prune' | 'pitr-mark';

interface Base {
  /** The database's name in the configuration (a fleet has several). */
  database: string;
  severity: Severity;
  /** When it happened (ISO-8601 UTC). */
  at: string;
}

/** A backup was published. */
export interface BackupSucceeded extends Base {
  kind: 'backup-succeeded';
  backup: { id: string; key: string; tier: string; sizeBytes: number; durationMs: number; sha256: string };
  /** The first success after failures (sent even when successes are not announced). */
  recovered: boolean;
}

/** A job attempt failed; `final` after the last retry. */
export interface JobFailed extends Base {
  kind: 'job-failed';
  job: JobKind;
  /** What failed and what to do (the error's own message). */
  error: string;
  /** errorKind(): class name, with the crypto code. */
  errorKind: string;
  /** 1-based attempt that failed, of `attempts` allowed in all. */
  attempt: number;
  attempts: number;
  final: boolean;
}

/** A drill ended (PASS or FAIL), with its report. */
export interface DrillFinished extends Base {
  kind: 'drill-finished';
  verdict: Verdict;
  drillId: string;
  /** Plain-text summary: verdict, RTO/RPO against targets, failed checks, next drill due. */
  summary: string;
  failedChecks: string[];
  /** The rendered PDF (attached or linked by notifiers that can). */
  pdfPath?: string;
  /** Where the PDF is stored beside the backups (named when it is too large to attach). */
  reportKey?: string;
  /** The figures behind `summary`, for notifiers that lay them out (set by buildNotification). */
  figures?: DrillFigures;
}

/** RTO and RPO against their targets, check counts and the next drill's date. */
export interface DrillFigures {
  /** null when the restore never completed. */
  rtoMs: number | null;
  rtoTargetMinutes: number;
  rpoHours: number;
  rpoTargetHours: number;
  checksPassed: number;
  checksTotal: number;
  /** YYYY-MM-DD */
  nextDrillDue: string;
  backupId: string;
}

/**
 * Consecutive FINAL failures of one database and job kind: 1 → warning, 2 → critical, 3 or more →
 * page; `level: 'recovered'` when the next run succeeds.
 */
export interface Escalation extends Base {
  kind: 'escalation';
  job: JobKind;
  level: 'warning' | 'critical' | 'page' | 'recovered';
  consecutiveFailures: number;
  lastError?: string;
}

/** A health monitor started or stopped firing (once per episode). */
export interface MonitorAlert extends Base {
  kind: 'monitor';
  monitor: 'backup-age' | 'backup-size-change' | 'disk-free' | 'drill-overdue';
  state: 'firing' | 'resolved';
  /** One line: what was measured against what limit. */
  detail: string;
}

export type Notification = BackupSucceeded | JobFailed | DrillFinished | Escalation | MonitorAlert;

/**
 * Delivers notifications somewhere. Implementations throw on delivery failure; the caller retries
 * a few times, logs and counts it, and never fails the job because of it.
 */
export interface Notifier {
  /** Short name for logs and metrics, e.g. `console`, `email`, `slack`. */
  readonly name: string;
  notify(message: Notification): Promise<void>;
}

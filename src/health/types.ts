import type { JobKind } from '../notify/index.ts';

// The health of each database as the service sees it: the input of the monitors, the Prometheus
// metrics, `pgdrill status` and the admin page. Built by the service from the storage catalog (the
// source of truth for backups), the drill ledger and the job engine's own record of runs.

export interface BackupFacts {
  id: string;
  key: string;
  /** startedAt of the manifest (ISO-8601 UTC). */
  takenAt: string;
  durationMs: number;
  /** Stored bytes (dump and globals). */
  sizeBytes: number;
}

export interface DrillFacts {
  drillId: string;
  at: string;
  verdict: 'PASS' | 'FAIL';
  /** null when the restore never completed. */
  rtoMs: number | null;
  failedChecks: string[];
}

export interface JobRunCounts {
  success: number;
  failure: number;
}

export interface DatabaseHealth {
  /** The database's name in the configuration. */
  database: string;
  /** The newest valid full backup, and the one before it (for the size-change monitor). */
  lastBackup: BackupFacts | null;
  previousBackup: BackupFacts | null;
  lastDrill: DrillFacts | null;
  /**
   * Optional (added for the metrics): when the last drill with verdict PASS ran; null when none
   * did. Left out, it is known only when the last drill passed.
   */
  lastPassedDrillAt?: string | null;
  /**
   * Optional (added for the drill-overdue monitor): takenAt of the oldest valid full backup, when
   * protection began. Before the first drill, a drill is due `drill.intervalDays` after it; left
   * out, after the older of previousBackup and lastBackup, which a daily schedule keeps recent.
   */
  oldestBackupAt?: string;
  /** Final failures in a row per job kind (0 after a success). */
  consecutiveFailures: Record<JobKind, number>;
  /** Runs this service completed, by result. */
  runs: Record<JobKind, JobRunCounts>;
  /** Bytes of every valid backup in this database's storage. */
  storageBytes: number;
  /** Free space ratio (0..1) of the file systems that matter: the folder store, the temp folder. */
  diskFree: Array<{ path: string; freeRatio: number }>;
  /** When the next scheduled runs are due (ISO-8601 UTC), by job kind. */
  nextRuns: Partial<Record<JobKind, string>>;
}

export interface HealthSnapshot {
  /** When the snapshot was taken (ISO-8601 UTC). */
  at: string;
  databases: DatabaseHealth[];
  /** Notifications that could not be delivered, by notifier name. */
  notificationFailures: Record<string, number>;
}

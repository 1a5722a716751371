import type { AuditChainHead } from '../catalog/index.ts';
import type { TableRef } from '../inspect/index.ts';
import type { BackupSet, Marker, PitrPlan, WalGap } from './plan.ts';

/** What a point-in-time drill learned before its checks: serialisable (it travels to the drill files). */
export interface PitrOutcome {
  stanza: string;
  /** The repository's cipher (`none`, `aes-256-cbc`). */
  cipher: string;
  target: PitrPlan['target'];
  set: BackupSet & {
    /** Why this set. */
    reason: string;
    /** START WAL LOCATION of the backup_label pgBackRest restored (read before the server started), null when the restore did not get there. */
    restoredStartLsn: string | null;
  };
  archive: {
    id: string;
    min: string | null;
    max: string | null;
    segments: number;
    /** When the newest segment reached the repository (the RPO's reference). */
    newestArchivedAt: string | null;
    segmentBytes: number;
    /** Runs of missing segments from the restored set's first segment on. */
    gaps: WalGap[];
  };
  markers: {
    /** The source has pgdrill.pitr_markers. */
    available: boolean;
    expected: Marker | null;
    firstAbsent: Marker | null;
    /** The newest marker in the restored cluster, and how many it has. */
    restoredNewest: Marker | null;
    restoredCount: number;
    /** Whether `firstAbsent` (a marker after the target) is in the restored cluster. */
    firstAbsentRestored: boolean;
  };
  reached: {
    /** pg_last_xact_replay_timestamp() after recovery. */
    lastReplayAt: string | null;
    /** PostgreSQL's own line, e.g. "recovery stopping before commit of transaction 726, time …". */
    recoveryStop: string | null;
    /** The last segment the server restored from the archive. */
    lastRestoredSegment: string | null;
    /** pg_is_in_recovery() once the sandbox accepted connections. */
    inRecovery: boolean | null;
  };
  /** pgbackrest restore, then the server's start and recovery. */
  timings: { restoreMs: number | null; recoveryMs: number | null };
  verify: { ok: boolean; output: string; error?: string } | null;
  /** `pgbackrest info --output=json` for the stanza. */
  info: unknown;
  /** Tables of the restored database (what tables-readable and amcheck read). */
  tables: TableRef[];
  /** The restored audit chain's head and whether the source holds the same row with the same hash (the restored chain is a prefix of the source's). */
  auditChain: { restoredHead: AuditChainHead | null; sourceHash: string | null } | null;
  /** The role the sandbox connected as (the cluster's bootstrap superuser). */
  superuser: string;
}

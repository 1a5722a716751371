import type { PgdrillConfig } from '../config/index.ts';
import { TOOL_VERSION } from '../config/index.ts';
import { defaultSignoff, GENERIC_WORDING, historyWith, NDPA_WORDING, nextLedger, type BackupUnderTest, type CheckResult, type DrillEvidenceInput, type PointInTimeRecovery, type StoredDrillRecord } from '../evidence/index.ts';
import { describeGap, judgeTarget, type PitrOutcome } from '../pitr/index.ts';
import { retentionCoverage } from '../retention/index.ts';
import { drillRunner } from './prepare.ts';
import type { BackupManifest } from '../catalog/index.ts';
import type { DrillState } from '../check/index.ts';

const NOT_CONFIGURED = 'not configured';

/**
 * A warning in the record when it cannot say whose it is: a compliance record must not name the
 * wrong organisation, nor none without saying so.
 */
function identityFinding(report: PgdrillConfig['report']): CheckResult[] {
  const missing = (['organisation', 'system', 'dpoContact'] as const).filter((key) => report[key] === undefined).map((key) => `report.${key}`);
  if (missing.length === 0) return [];
  const summary = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not configured: set ${missing.length === 1 ? 'it' : 'them'} in pgdrill.config.ts so this record names whose system it tests`;
  return [
    {
      id: 'report-identity',
      title: 'The record names the organisation, system and DPO contact',
      description: 'report.organisation, report.system and report.dpoContact are set, so the compliance record says whose it is.',
      builtIn: true,
      status: 'warn',
      durationMs: 0,
      summary,
      failure: summary,
    },
  ];
}

/** One finished drill test as the reporter saw it. */
export type CheckRecord = CheckResult;

const PITR_SANDBOX_STATEMENT =
  'Restored by pgBackRest (archive mode off: nothing was written to the production repository) into a private data directory, recovered by a throw-away PostgreSQL that listened on no network address (a unix socket in a private folder), deleted after the drill; nothing was restored over production.';

const SANDBOX_STATEMENT: Record<'docker' | 'embedded', string> = {
  docker: 'Restored into a throw-away Docker container started for this drill and removed after it; nothing was restored over production.',
  embedded: 'Restored into a throw-away PostgreSQL cluster in a temporary directory on 127.0.0.1, deleted after the drill; nothing was restored over production.',
};

/**
 * The evidence record of a drill, from the setup's state and the checks' results: the only input
 * of the report. Counts only — never row data.
 */
export function buildEvidence(input: {
  state: DrillState;
  checks: CheckRecord[];
  /** Time the check tests took (the record-count comparison in setup is added to it). */
  checksMs: number;
  finishedAt: Date;
  config: PgdrillConfig;
  history: readonly StoredDrillRecord[];
  unhandledErrors: string[];
}): DrillEvidenceInput {
  const { state, checks, config } = input;
  const pitr = state.pitr;
  const manifest = state.manifest;
  const report = config.report;
  const failed = checks.filter((c) => c.status === 'fail');
  const verdict = state.restore.ok && failed.length === 0 && input.unhandledErrors.length === 0 && checks.length > 0 ? 'PASS' : 'FAIL';
  const restoreReached = state.restore.ok && state.timings.restoreMs !== null;
  const checksMs = input.checksMs + (state.timings.countMs ?? 0);
  // Point in time: pgBackRest's restore, then recovery, then the checks. A dump: download, decrypt, restore, checks.
  const rtoMs = !restoreReached
    ? null
    : pitr
      ? (pitr.timings.restoreMs ?? 0) + (pitr.timings.recoveryMs ?? 0) + checksMs
      : (state.timings.downloadMs ?? 0) + (state.timings.decryptMs ?? 0) + (state.timings.restoreMs ?? 0) + checksMs;
  const startedAt = new Date(state.startedAt);
  const now = new Date(state.now);
  // What a failure now would lose: changes since the newest archived WAL segment, or since the dump.
  const recoveryPoint = pitr ? (pitr.archive.newestArchivedAt ?? pitr.set.stoppedAt) : manifest!.startedAt;
  const rpoHours = Math.max(0, (now.getTime() - Date.parse(recoveryPoint)) / 3_600_000);
  const database = pitr ? pitrDatabase(state) : manifest!.database;

  const tables = pitr ? [] : (state.recordCounts?.tables ?? manifest!.tables.map((t) => ({ schema: t.schema, name: t.name, expected: t.rows, actual: null })));

  const coverage = retentionCoverage({
    backups: state.catalog
      .filter((b) => b.database === database)
      .map((b) => ({ id: b.id, tier: b.tier, database: b.database, takenAt: new Date(b.startedAt), full: b.full, series: b.series })),
    policy: state.config.retention,
    now,
    firstBackupAt: state.firstFullBackupAt ? new Date(state.firstFullBackupAt) : undefined,
    database,
  });
  const subject = pitr
    ? `The ${database} database, recovered from pgBackRest set ${pitr.set.label} to ${pitr.target.type === 'latest' ? 'the end of its archived WAL' : pitr.target.type === 'name' ? `restore point ${pitr.target.value}` : `${pitr.target.value!.slice(0, 19).replace('T', ' ')} UTC`},`
    : `The ${database} backup taken ${manifest!.startedAt.slice(0, 16).replace('T', ' ')} UTC`;

  const summarySentence =
    checks.length === 0
      ? `No check ran, so nothing was verified${input.unhandledErrors.length ? `: ${input.unhandledErrors[0]}` : ''}.`
      : verdict === 'PASS'
      ? `${subject} was restored into an isolated sandbox and passed ${checks.filter((c) => c.status !== 'skip').length} integrity checks${rtoMs !== null ? ` in ${(rtoMs / 60_000).toFixed(1)} minutes (target ${report.rtoTargetMinutes})` : ''}.`
      : state.restore.ok && failed.length === 0
        ? `The backup restored and no check failed, but the drill hit errors: ${input.unhandledErrors.slice(0, 2).join('; ')}.`
        : state.restore.ok
        ? `The backup restored, but ${failed.length} check(s) failed: ${failed.map((c) => c.title).join('; ')}.`
        : state.restore.partial
          ? `The backup of ${database} restored only in part: pg_restore could not restore ${state.restore.partial.failures.length} archive entries; ${failed.length} check(s) failed: ${failed.map((c) => c.title).join('; ')}.`
          : `The ${pitr ? 'point-in-time recovery' : 'backup'} of ${database} could NOT be restored (${state.restore.failedStage} stage): ${state.restore.error}`;

  const nextDue = new Date(startedAt.getTime() + config.drill.intervalDays * 86_400_000);
  const wording = report.regime === 'ndpa' ? NDPA_WORDING : GENERIC_WORDING;
  return {
    formatVersion: 1,
    drillId: state.drillId,
    organisation: report.organisation ?? NOT_CONFIGURED,
    system: report.system ?? NOT_CONFIGURED,
    toolVersion: TOOL_VERSION,
    startedAt: state.startedAt,
    finishedAt: input.finishedAt.toISOString(),
    timeZone: report.timeZone,
    verdict,
    summarySentence,
    runBy: drillRunner(),
    sandbox: state.sandbox
      ? { kind: state.sandbox.kind, description: state.sandbox.description, serverVersion: state.sandbox.serverVersion, isolated: true, statement: pitr ? PITR_SANDBOX_STATEMENT : SANDBOX_STATEMENT[state.sandbox.kind] }
      : { kind: 'embedded', description: 'not started', serverVersion: 'n/a', isolated: true, statement: 'No sandbox was started because the backup failed before restore; nothing was restored anywhere.' },
    ...(pitr ? { pitr: pitrEvidence(pitr, database) } : { backup: dumpEvidence(manifest!, state, rpoHours) }),
    olderBackup: state.olderBackup
      ? {
          id: state.olderBackup.id,
          takenAt: state.olderBackup.takenAt,
          ageDays: Math.max(0, Math.floor((now.getTime() - Date.parse(state.olderBackup.takenAt)) / 86_400_000)),
          encryptionKeyId: state.olderBackup.encryptionKeyId,
          status: state.olderBackup.status,
          detail: state.olderBackup.detail,
        }
      : null,
    timings: {
      downloadMs: state.timings.downloadMs,
      decryptMs: state.timings.decryptMs,
      restoreMs: state.timings.restoreMs,
      checksMs,
      rtoMs,
    },
    targets: { rtoMinutes: report.rtoTargetMinutes, rpoHours: report.rpoTargetHours },
    rpoHours,
    timeline: [...state.timeline, { step: 'verified', at: input.finishedAt.toISOString(), detail: `${checks.length} checks, ${failed.length} failed` }],
    checks: [...checks, ...identityFinding(report)],
    tables,
    retention: {
      policy: state.config.retention,
      monthly: coverage.monthly.map((s) => ({ month: s.month, state: s.state })),
      daily: coverage.daily.map((s) => ({ day: s.day, state: s.state })),
      tiers: coverage.tiers.flatMap((t) => (t.tier === 'daily' || t.tier === 'monthly' ? [] : [{ tier: t.tier, slots: t.slots }])),
    },
    history: historyWith(input.history, { drillId: state.drillId, startedAt: state.startedAt, verdict, rtoMs }),
    nextDrillDue: nextDue.toISOString().slice(0, 10),
    controls: report.controls ?? wording.controls,
    breachAssessment: wording.breachAssessment(verdict),
    breachRef: wording.breachRef,
    retentionNote: wording.retentionNote,
    signoff: defaultSignoff(report.signoff),
    dpoContact: report.dpoContact ?? NOT_CONFIGURED,
    ledger: nextLedger(input.history),
  };
}

/** The database a point-in-time drill tested (its drill id ends `-{database}-pitr`). */
function pitrDatabase(state: DrillState): string {
  return /-(.+)-pitr$/.exec(state.drillId)?.[1] ?? state.pitr!.stanza;
}

/** The record's "Point-in-time recovery" part: set, target, where recovery ended, WAL, verify, info. */
function pitrEvidence(p: PitrOutcome, database: string): PointInTimeRecovery {
  const reached = judgeTarget(p);
  const marker = (m: { id: number; markedAt: string } | null) => (m ? { id: m.id, markedAt: m.markedAt } : null);
  return {
    tool: 'pgbackrest',
    database,
    stanza: p.stanza,
    cipher: p.cipher,
    target: p.target,
    backupSet: {
      label: p.set.label,
      type: p.set.type,
      startedAt: p.set.startedAt,
      stoppedAt: p.set.stoppedAt,
      lsnStart: p.set.lsnStart,
      walStart: p.set.walStart,
      walStop: p.set.walStop,
      repoSizeBytes: p.set.repoSizeBytes,
      reason: p.set.reason,
      restoredStartLsn: p.set.restoredStartLsn,
    },
    reached: {
      ok: reached.ok,
      summary: reached.summary,
      lastReplayAt: p.reached.lastReplayAt,
      recoveryStop: p.reached.recoveryStop,
      expectedMarker: marker(p.markers.expected),
      restoredMarker: marker(p.markers.restoredNewest),
    },
    wal: {
      archiveId: p.archive.id,
      min: p.archive.min,
      max: p.archive.max,
      segments: p.archive.segments,
      newestArchivedAt: p.archive.newestArchivedAt,
      lastRestoredSegment: p.reached.lastRestoredSegment,
      gaps: p.archive.gaps.map(describeGap),
    },
    timings: p.timings,
    verify: p.verify,
    info: JSON.parse(JSON.stringify(p.info ?? null)),
  };
}

/** The record's "backup under test" of a dump drill. */
function dumpEvidence(manifest: BackupManifest, state: DrillState, ageHours: number): BackupUnderTest {
  return {
    id: manifest.id,
    tier: manifest.tier,
    database: manifest.database,
    dumpKey: manifest.objects.dump.key,
    takenAt: manifest.startedAt,
    ageHours,
    storedSize: manifest.objects.dump.size,
    sha256: manifest.objects.dump.sha256,
    sha256Verified: state.verified.storedSha256 === manifest.objects.dump.sha256,
    plaintextSha256: manifest.objects.dump.plaintextSha256,
    encryptionKeyId: manifest.encryption.algorithm === 'none' ? null : manifest.encryption.keyId,
    serverVersion: manifest.serverVersion,
    pgDumpVersion: manifest.pgDumpVersion,
    format: manifest.format,
    compression: manifest.compression,
  };
}

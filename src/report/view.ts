import { restoreTrendSvg, retentionGridSvg, verdictStripSvg, legendSwatchSvg } from './charts.ts';
import type { CheckStatus, DrillEvidence, PointInTimeRecovery } from '../evidence/index.ts';
import {
  formatBytes,
  formatDate,
  formatDuration,
  formatHours,
  formatLocal,
  formatLocalTime,
  formatMinutes,
  formatNumber,
  formatUtc,
  zoneAbbreviation,
} from '../format/index.ts';
import { escapeHtml, redactPersonalData, truncate } from './text.ts';

// Turns evidence into the flat, pre-formatted view the Handlebars templates print. All wording
// decisions and arithmetic live here (tested in TS); templates only lay things out.

export interface SignatureInfo {
  algorithm: 'ed25519';
  publicKeyFingerprint: string;
}

export interface ViewContext {
  evidenceSha256: string;
  /** File name of the evidence JSON filed beside the PDF. */
  evidenceFileName: string;
  signature: SignatureInfo | null;
  logoDataUri: string | null;
  css: string;
}

const STEP_LABELS: Record<string, string> = {
  located: 'Backup located in storage',
  downloaded: 'Downloaded; stored SHA-256 checked',
  decrypted: 'Decrypted and decompressed',
  restored: 'Restored into the isolated sandbox',
  recovered: 'Recovered to the target (WAL replayed)',
  verified: 'Checks completed',
  'older-backup': 'Older backup restored',
  'archives-verified': 'Retained archives verified; ledger filed',
  'torn-down': 'Sandbox removed',
};

const STATUS_LABELS: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIPPED' };

function plural(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
}

export type ReportView = ReturnType<typeof buildView>;

type RetentionPolicyView = DrillEvidence['retention']['policy'];

/** How long the policy reaches back: its longest tier (`7 years`, `18 months`, `30 days`). */
function retentionHorizon(policy: RetentionPolicyView): string {
  const months = Math.max(policy.monthly, (policy.quarterly ?? 0) * 3, (policy.yearly ?? 0) * 12);
  if (months > 0) return months % 12 === 0 ? `${months / 12} years` : `${months} months`;
  if (policy.weekly > 0) return `${policy.weekly} weeks`;
  return `${policy.daily} days`;
}

/** `7 daily, 0 weekly and 84 monthly backups (7 years)`; hourly, quarterly and yearly named when enabled. */
function policyText(policy: RetentionPolicyView, horizon: string): string {
  const items = [
    ...(policy.hourly ? [`${policy.hourly} hourly`] : []),
    `${policy.daily} daily`,
    `${policy.weekly} weekly`,
    `${policy.monthly} monthly`,
    ...(policy.quarterly ? [`${policy.quarterly} quarterly`] : []),
    ...(policy.yearly ? [`${policy.yearly} yearly`] : []),
  ];
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)} backups (${horizon})`;
}

export function buildView(e: DrillEvidence, ctx: ViewContext) {
  const tz = e.timeZone;
  const zone = zoneAbbreviation(e.startedAt, tz);
  const rtoTargetMs = e.targets.rtoMinutes * 60_000;
  const rtoMet = e.timings.rtoMs !== null && e.timings.rtoMs <= rtoTargetMs;
  const rpoMet = e.rpoHours <= e.targets.rpoHours;

  const tablesDiffering = e.tables.filter((t) => t.actual !== t.expected);
  const rowsExpected = e.tables.reduce((sum, t) => sum + t.expected, 0);
  const countsReconciled = e.tables.length > 0 && tablesDiffering.length === 0;
  const pitr = e.pitr ? pitrView(e.pitr, e, tz) : null;
  const integrityOk = pitr ? pitr.reached.ok : countsReconciled && e.backup!.sha256Verified;
  const integrityDetail = pitr
    ? pitr.reached.summary
    : !e.backup!.sha256Verified
    ? 'The downloaded backup did not match its recorded SHA-256.'
    : e.tables.length === 0
      ? 'No table counts were reconciled (the restore did not complete).'
      : countsReconciled
        ? `All ${formatNumber(e.tables.length)} tables (${formatNumber(rowsExpected)} rows) match the backup's own snapshot; SHA-256 verified.`
        : `${formatNumber(tablesDiffering.length)} of ${formatNumber(e.tables.length)} tables differ from the backup's snapshot.`;

  const counts = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of e.checks) counts[c.status] += 1;

  const checks = e.checks.map((c, i) => {
    const needsAction = c.status === 'fail' || c.status === 'warn';
    const ca = c.correctiveAction;
    const summary = truncate(redactPersonalData(c.summary), 220);
    const failure = c.failure ? truncate(redactPersonalData(c.failure), 900) : null;
    return {
      number: i + 1,
      id: c.id,
      title: c.title,
      description: c.description,
      kind: c.builtIn ? 'Built-in' : 'Custom',
      status: c.status,
      statusLabel: STATUS_LABELS[c.status],
      duration: formatDuration(c.durationMs),
      summary,
      failure,
      /** A warning's one line in "Findings": its failure message unless that only repeats the summary. */
      warnDetail: failure && failure !== summary ? failure : summary,
      hasStructuredEvidence: c.evidence !== undefined,
      needsAction,
      /** Only failures get the full corrective-action form (owner and due-date lines); a warning is one line. */
      actionRequired: c.status === 'fail',
      /** Whatever corrective action was recorded, as short notes for a warning's line. */
      actionNotes: [
        ca?.action ? `Action: ${ca.action}` : null,
        ca?.owner ? `Owner: ${ca.owner}` : null,
        ca?.dueDate ? `Due: ${formatDate(ca.dueDate)}` : null,
      ].filter((x): x is string => x !== null),
      action: needsAction
        ? {
            owner: ca?.owner ?? null,
            dueDate: ca?.dueDate ? formatDate(ca.dueDate) : null,
            text: ca?.action ?? null,
          }
        : null,
    };
  });
  const findings = checks.filter((c) => c.needsAction);
  const failFindings = findings.filter((c) => c.actionRequired);
  const warnFindings = findings.filter((c) => !c.actionRequired);

  const tableRows = e.tables.map((t) => {
    const differs = t.actual !== t.expected;
    const delta = t.actual === null ? 'missing' : t.actual - t.expected;
    return {
      name: `${t.schema}.${t.name}`,
      /** Escaped, with line-break opportunities after '.' and '_'. */
      nameHtml: escapeHtml(`${t.schema}.${t.name}`).replace(/([._])/g, '$1<wbr>'),
      expected: formatNumber(t.expected),
      actual: t.actual === null ? '—' : formatNumber(t.actual),
      differs,
      difference: typeof delta === 'string' ? delta : delta === 0 ? '0' : `${delta > 0 ? '+' : '−'}${formatNumber(Math.abs(delta))}`,
    };
  });
  // Long lists print in two side-by-side tables (compact beyond 30) to keep a passing report short.
  const columnCount = tableRows.length > 8 ? 2 : 1;
  const perColumn = Math.ceil(tableRows.length / columnCount);
  const tableColumns = Array.from({ length: columnCount }, (_, i) => tableRows.slice(i * perColumn, (i + 1) * perColumn));

  const firstStep = e.timeline[0] ? Date.parse(e.timeline[0].at) : Date.parse(e.startedAt);
  const timeline = e.timeline.map((t) => ({
    label: STEP_LABELS[t.step] ?? t.step.replace(/-/g, ' '),
    step: t.step,
    utc: t.at.slice(11, 19),
    local: formatLocalTime(t.at, tz),
    elapsed: `+${formatDuration(Date.parse(t.at) - firstStep)}`,
    detail: t.detail ? redactPersonalData(t.detail) : null,
  }));

  const monthly = e.retention.monthly;
  const otherTiers = (e.retention.tiers ?? []).map((t) => ({
    tier: t.tier,
    missing: t.slots.filter((s) => s.state === 'missing').length,
    line: `${t.tier[0]!.toUpperCase()}${t.tier.slice(1)}: ${t.slots.filter((s) => s.state === 'present').length} of ${t.slots.length} present`,
  }));
  const retentionCounts = {
    present: monthly.filter((m) => m.state === 'present').length,
    missing: monthly.filter((m) => m.state === 'missing').length,
    notDue: monthly.filter((m) => m.state === 'not-due').length,
    dailyPresent: e.retention.daily.filter((d) => d.state === 'present').length,
    dailyMissing: e.retention.daily.filter((d) => d.state === 'missing').length,
    dailyTotal: e.retention.daily.length,
    otherMissing: otherTiers.reduce((sum, t) => sum + t.missing, 0),
  };
  const policy = e.retention.policy;
  const policyYears = retentionHorizon(policy);

  const retentionGaps = [
    retentionCounts.missing ? plural(retentionCounts.missing, 'monthly backup') + ' missing' : null,
    retentionCounts.dailyMissing ? plural(retentionCounts.dailyMissing, 'daily backup') + ' missing' : null,
    ...otherTiers.map((t) => (t.missing ? plural(t.missing, `${t.tier} backup`) + ' missing' : null)),
  ].filter((x): x is string => x !== null);
  const passCount = e.history.filter((h) => h.verdict === 'PASS').length;
  const rtoValues = e.history.map((h) => h.rtoMs).filter((v): v is number => v !== null);

  return {
    css: ctx.css,
    logoDataUri: ctx.logoDataUri,
    organisation: e.organisation,
    system: e.system,
    drillId: e.drillId,
    toolVersion: e.toolVersion ?? null,
    verdict: e.verdict,
    verdictClass: e.verdict === 'PASS' ? 'pass' : 'fail',
    summarySentence: e.summarySentence,
    dateLocal: formatLocal(e.startedAt, tz),
    dateUtc: formatUtc(e.startedAt),
    zone,
    timeZone: tz,
    glance: {
      rto: {
        measured: e.timings.rtoMs === null ? 'not reached' : formatMinutes(e.timings.rtoMs),
        target: `${e.targets.rtoMinutes} min`,
        met: rtoMet,
        verdict: rtoMet ? 'Within target' : e.timings.rtoMs === null ? 'No restore completed' : 'Over target',
      },
      rpo: {
        measured: formatHours(e.rpoHours),
        target: formatHours(e.targets.rpoHours),
        met: rpoMet,
        verdict: rpoMet ? 'Within target' : 'Over target',
      },
      integrity: { ok: integrityOk, label: pitr ? (integrityOk ? 'Target reached' : 'Not reached') : integrityOk ? 'Reconciled' : 'Not reconciled', detail: integrityDetail },
      checks: {
        ok: counts.fail === 0,
        failed: counts.fail,
        total: e.checks.length,
        label: counts.fail === 0 ? 'None failed' : `${counts.fail} failed`,
        detail: `${counts.pass} passed, ${counts.fail} failed, ${plural(counts.warn, 'warning')}, ${counts.skip} skipped.`,
      },
      nextDrillDue: formatDate(e.nextDrillDue),
      /** Secondary facts for page 1, each with a status pill. */
      facts: [
        ...(pitr ? pitr.facts : [
          {
            label: 'Older backup also restored',
            status: e.olderBackup ? (e.olderBackup.status === 'skipped' ? 'skip' : e.olderBackup.status) : 'skip',
            pill: e.olderBackup?.status === 'pass' ? 'PASS' : e.olderBackup?.status === 'fail' ? 'FAIL' : 'NOT TESTED',
            value: e.olderBackup
              ? `${e.olderBackup.id} (${formatNumber(Math.round(e.olderBackup.ageDays))} days old): ${e.olderBackup.status === 'pass' ? 'restored' : e.olderBackup.status === 'fail' ? 'failed' : 'not tested'}`
              : 'not tested in this drill',
          },
          {
            label: 'Retention inventory',
            status: retentionGaps.length ? 'fail' : 'pass',
            pill: retentionGaps.length ? 'GAPS' : 'COMPLETE',
            value: retentionGaps.length
              ? retentionGaps.join('; ')
              : `all ${retentionCounts.present} due monthly and ${retentionCounts.dailyPresent} due daily backups present`,
          },
        ]),
        {
          label: 'Record chained and signed',
          status: ctx.signature ? 'pass' : 'skip',
          pill: ctx.signature ? 'SIGNED' : 'UNSIGNED',
          value: `${e.ledger.previousDrillId ? `linked to ${e.ledger.previousDrillId}` : 'first record of the ledger'}; ${ctx.signature ? 'signed (Ed25519)' : 'not signed'}`,
        },
      ],
      trendSvg: restoreTrendSvg(e),
      stripSvg: verdictStripSvg(e),
      trendSummary:
        `${passCount} of ${e.history.length} recorded drills passed.` +
        (rtoValues.length ? ` Restore time ranged ${formatMinutes(Math.min(...rtoValues))} – ${formatMinutes(Math.max(...rtoValues))}.` : ''),
    },
    run: {
      startedUtc: formatUtc(e.startedAt),
      startedLocal: formatLocal(e.startedAt, tz),
      finishedUtc: formatUtc(e.finishedAt),
      finishedLocal: formatLocal(e.finishedAt, tz),
      duration: formatDuration(Date.parse(e.finishedAt) - Date.parse(e.startedAt)),
      runBy: e.runBy,
      sandbox: {
        kind: e.sandbox.kind === 'docker' ? 'Docker container' : 'Embedded PostgreSQL (temporary data directory)',
        description: e.sandbox.description,
        serverVersion: e.sandbox.serverVersion,
        statement: e.sandbox.statement,
      },
      timings: [
        ...(e.pitr
          ? [
              { label: 'pgBackRest restore', value: formatDuration(e.pitr.timings.restoreMs) },
              { label: 'Recovery (WAL replay) and start', value: formatDuration(e.pitr.timings.recoveryMs) },
            ]
          : [
              { label: 'Download', value: formatDuration(e.timings.downloadMs) },
              { label: 'Decrypt', value: formatDuration(e.timings.decryptMs) },
              { label: 'Restore', value: formatDuration(e.timings.restoreMs) },
            ]),
        { label: 'Checks', value: formatDuration(e.timings.checksMs) },
        { label: 'Total (RTO)', value: formatDuration(e.timings.rtoMs) },
      ],
    },
    pitr,
    backup: e.backup && {
      id: e.backup.id,
      tier: e.backup.tier,
      database: e.backup.database,
      dumpKey: e.backup.dumpKey,
      takenUtc: formatUtc(e.backup.takenAt),
      takenLocal: formatLocal(e.backup.takenAt, tz),
      age: formatHours(e.backup.ageHours),
      size: `${formatBytes(e.backup.storedSize)} (${formatNumber(e.backup.storedSize)} bytes)`,
      sha256: e.backup.sha256,
      sha256Verified: e.backup.sha256Verified,
      plaintextSha256: e.backup.plaintextSha256,
      keyId: e.backup.encryptionKeyId ?? 'not encrypted',
      encrypted: e.backup.encryptionKeyId !== null,
      versions: `PostgreSQL ${e.backup.serverVersion}; pg_dump ${e.backup.pgDumpVersion}`,
      format: `${e.backup.format}, ${e.backup.compression.algorithm === 'none' ? 'uncompressed' : `${e.backup.compression.algorithm} level ${e.backup.compression.level}`}`,
    },
    older: e.olderBackup
      ? {
          id: e.olderBackup.id,
          takenUtc: formatUtc(e.olderBackup.takenAt),
          age: `${formatNumber(Math.round(e.olderBackup.ageDays))} days`,
          keyId: e.olderBackup.encryptionKeyId ?? 'not encrypted',
          status: e.olderBackup.status,
          statusLabel: e.olderBackup.status === 'skipped' ? 'SKIPPED' : STATUS_LABELS[e.olderBackup.status],
          detail: redactPersonalData(e.olderBackup.detail),
        }
      : null,
    timeline,
    checks,
    checkCounts: counts,
    checkCountsText: `${counts.pass} passed · ${counts.fail} failed · ${plural(counts.warn, 'warning')} · ${counts.skip} skipped`,
    findings,
    failFindings,
    warnFindings,
    /** Checks whose structured evidence is kept in the JSON (marked † in the checklist). */
    structuredEvidenceCount: checks.filter((c) => c.hasStructuredEvidence).length,
    /** Page 1 lists at most five findings; the checklist has them all. */
    topFindings: findings.slice(0, 5),
    moreFindings: Math.max(0, findings.length - 5),
    tables: {
      columns: tableColumns,
      count: e.tables.length,
      compact: e.tables.length > 30,
      differing: tablesDiffering.map((t) => `${t.schema}.${t.name}`),
      rowsExpected: formatNumber(rowsExpected),
      reconciled: countsReconciled,
    },
    retention: {
      svg: retentionGridSvg(e),
      policyText: policyText(policy, policyYears),
      tierLines: otherTiers.map((t) => t.line),
      note: e.retentionNote.replaceAll('{years}', policyYears),
      counts: retentionCounts,
      complete: retentionGaps.length === 0,
      swatches: { present: legendSwatchSvg('present'), missing: legendSwatchSvg('missing'), notDue: legendSwatchSvg('not-due') },
    },
    controls: e.controls,
    breachAssessment: e.breachAssessment,
    breachRef: e.breachRef,
    breachClass: e.verdict === 'PASS' ? 'pass' : 'fail',
    signoff: e.signoff.map((s) => ({ role: s.role, name: s.name ?? null, date: s.date ? formatDate(s.date) : null })),
    dpoContact: e.dpoContact,
    record: {
      evidenceFileName: ctx.evidenceFileName,
      evidenceSha256: ctx.evidenceSha256,
      backupSha256: e.backup?.sha256 ?? null,
      plaintextSha256: e.backup?.plaintextSha256 ?? null,
      pitrSet: e.pitr ? `${e.pitr.backupSet.label} (stanza ${e.pitr.stanza})` : null,
      previousDrillId: e.ledger.previousDrillId,
      previousEvidenceSha256: e.ledger.previousEvidenceSha256,
      signature: ctx.signature,
    },
  };
}

/** The "Point-in-time recovery" section and page-1 facts of a point-in-time drill. */
function pitrView(p: PointInTimeRecovery, e: DrillEvidence, tz: string) {
  const marker = (m: { id: number; markedAt: string } | null) => (m ? `marker ${m.id}, written ${formatUtc(m.markedAt)} (${formatLocal(m.markedAt, tz)})` : 'none');
  const rpoMet = e.rpoHours <= e.targets.rpoHours;
  const rtoMet = e.timings.rtoMs !== null && e.timings.rtoMs <= e.targets.rtoMinutes * 60_000;
  const setMatches = p.backupSet.restoredStartLsn === p.backupSet.lsnStart;
  const walOk = p.wal.gaps.length === 0;
  return {
    stanza: p.stanza,
    cipher: p.cipher === 'none' ? 'not encrypted' : p.cipher,
    target:
      p.target.type === 'time' ? `${formatUtc(p.target.value!)} (${formatLocal(p.target.value!, tz)})` : p.target.type === 'name' ? `restore point “${p.target.value}”` : 'latest: the end of the archived WAL',
    targetReason: p.target.reason,
    set: {
      label: p.backupSet.label,
      type: p.backupSet.type,
      finished: formatUtc(p.backupSet.stoppedAt),
      size: p.backupSet.repoSizeBytes === null ? 'unknown' : formatBytes(p.backupSet.repoSizeBytes),
      reason: p.backupSet.reason,
      lsn: p.backupSet.lsnStart,
      restoredLsn: p.backupSet.restoredStartLsn ?? 'not restored',
      matches: setMatches,
    },
    reached: {
      ok: p.reached.ok,
      summary: p.reached.summary,
      lastReplay: p.reached.lastReplayAt ? `${formatUtc(p.reached.lastReplayAt)} (${formatLocal(p.reached.lastReplayAt, tz)})` : 'unknown',
      recoveryStop: p.reached.recoveryStop,
      expected: marker(p.reached.expectedMarker),
      restored: marker(p.reached.restoredMarker),
    },
    wal: {
      archiveId: p.wal.archiveId,
      range: p.wal.min && p.wal.max ? `${p.wal.min} – ${p.wal.max}` : 'empty',
      segments: formatNumber(p.wal.segments),
      newest: p.wal.newestArchivedAt ? formatUtc(p.wal.newestArchivedAt) : 'none',
      lastRestored: p.wal.lastRestoredSegment ?? 'none',
      gaps: p.wal.gaps,
      ok: walOk,
    },
    verify: p.verify ? { ok: p.verify.ok, text: p.verify.error ?? p.verify.output.split('\n').slice(0, 8).join('\n') } : null,
    objectives: {
      rto: `${formatDuration(e.timings.rtoMs)} (restore ${formatDuration(p.timings.restoreMs)} + recovery ${formatDuration(p.timings.recoveryMs)} + checks ${formatDuration(e.timings.checksMs)}) against ${e.targets.rtoMinutes} min: ${rtoMet ? 'within target' : 'over target'}`,
      rpo: `${formatHours(e.rpoHours)} (now minus the newest archived WAL) against ${formatHours(e.targets.rpoHours)}: ${rpoMet ? 'within target' : 'over target'}`,
    },
    facts: [
      { label: 'Recovery target reached', status: p.reached.ok ? 'pass' : 'fail', pill: p.reached.ok ? 'REACHED' : 'NOT REACHED', value: p.reached.summary },
      {
        label: 'WAL archive',
        status: walOk ? 'pass' : 'fail',
        pill: walOk ? 'CONTINUOUS' : 'GAPS',
        value: walOk ? `${formatNumber(p.wal.segments)} segments, no gap after set ${p.backupSet.label}` : p.wal.gaps.join('; '),
      },
    ],
  };
}

import { testedBackup, type DrillEvidence } from '../evidence/index.ts';
import { formatDate, formatHours, formatMinutes, formatUtc } from '../format/index.ts';
import type { DrillFinished } from './types.ts';

/**
 * The notification for a rendered drill: verdict, a few plain-text lines, the figures behind them
 * and the PDF (its local path, and its storage key once published).
 */
export function buildNotification(evidence: DrillEvidence, pdfPath: string, published: { reportKey?: string } = {}): DrillFinished {
  const failed = evidence.checks.filter((c) => c.status === 'fail');
  const tested = testedBackup(evidence);
  const passed = evidence.checks.filter((c) => c.status === 'pass').length;
  const rto = evidence.timings.rtoMs === null ? 'not reached' : formatMinutes(evidence.timings.rtoMs);
  const lines = [
    `[${evidence.verdict}] Restore drill ${evidence.drillId} · ${evidence.organisation} · ${evidence.system}`,
    evidence.summarySentence,
    `Started ${formatUtc(evidence.startedAt)}; ${evidence.pitr ? `point-in-time recovery of pgBackRest set ${tested.id}` : `backup ${tested.id}`}.`,
    `RTO ${rto} (target ${evidence.targets.rtoMinutes} min); RPO ${formatHours(evidence.rpoHours)} (target ${formatHours(evidence.targets.rpoHours)}).`,
    failed.length
      ? `Failed checks (${failed.length} of ${evidence.checks.length}): ${failed.map((c) => c.title).join('; ')}.`
      : `No check failed (${passed} of ${evidence.checks.length} passed).`,
    `Next drill due ${formatDate(evidence.nextDrillDue)}.`,
  ];
  return {
    kind: 'drill-finished',
    database: tested.database,
    severity: evidence.verdict === 'PASS' ? 'info' : 'critical',
    at: evidence.finishedAt,
    verdict: evidence.verdict,
    drillId: evidence.drillId,
    summary: lines.join('\n'),
    pdfPath,
    ...(published.reportKey === undefined ? {} : { reportKey: published.reportKey }),
    failedChecks: failed.map((c) => c.title),
    figures: {
      rtoMs: evidence.timings.rtoMs,
      rtoTargetMinutes: evidence.targets.rtoMinutes,
      rpoHours: evidence.rpoHours,
      rpoTargetHours: evidence.targets.rpoHours,
      checksPassed: passed,
      checksTotal: evidence.checks.length,
      nextDrillDue: evidence.nextDrillDue,
      backupId: tested.id,
    },
  };
}

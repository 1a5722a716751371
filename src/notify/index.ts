import type { DrillEvidence } from '../evidence/index.ts';
import { formatDate, formatHours, formatMinutes, formatUtc } from '../format/index.ts';

export { createConsoleNotifier, describeNotification } from './console.ts';
export type { BackupSucceeded, DrillFinished, Escalation, JobFailed, JobKind, MonitorAlert, Notification, Notifier, Severity } from './types.ts';
import type { DrillFinished } from './types.ts';

/** The notification for a rendered drill: verdict, a few plain-text lines and the PDF path. */
export function buildNotification(evidence: DrillEvidence, pdfPath: string): DrillFinished {
  const failed = evidence.checks.filter((c) => c.status === 'fail');
  const rto = evidence.timings.rtoMs === null ? 'not reached' : formatMinutes(evidence.timings.rtoMs);
  const lines = [
    `[${evidence.verdict}] Restore drill ${evidence.drillId} · ${evidence.organisation} · ${evidence.system}`,
    evidence.summarySentence,
    `Started ${formatUtc(evidence.startedAt)}; backup ${evidence.backup.id}.`,
    `RTO ${rto} (target ${evidence.targets.rtoMinutes} min); RPO ${formatHours(evidence.rpoHours)} (target ${formatHours(evidence.targets.rpoHours)}).`,
    failed.length
      ? `Failed checks (${failed.length} of ${evidence.checks.length}): ${failed.map((c) => c.title).join('; ')}.`
      : `No check failed (${evidence.checks.filter((c) => c.status === 'pass').length} of ${evidence.checks.length} passed).`,
    `Next drill due ${formatDate(evidence.nextDrillDue)}.`,
  ];
  return {
    kind: 'drill-finished',
    database: evidence.backup.database,
    severity: evidence.verdict === 'PASS' ? 'info' : 'critical',
    at: evidence.finishedAt,
    verdict: evidence.verdict,
    drillId: evidence.drillId,
    summary: lines.join('\n'),
    pdfPath,
    failedChecks: failed.map((c) => c.title),
  };
}

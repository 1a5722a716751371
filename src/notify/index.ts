import type { DrillEvidence } from '../evidence/index.ts';
import { formatDate, formatHours, formatMinutes, formatUtc } from '../format/index.ts';

export { createConsoleNotifier } from './console.ts';
export type { DrillNotification, Notifier } from './types.ts';
import type { DrillNotification } from './types.ts';

/** The notification for a rendered drill: verdict, a few plain-text lines and the PDF path. */
export function buildNotification(evidence: DrillEvidence, pdfPath: string): DrillNotification {
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
    verdict: evidence.verdict,
    drillId: evidence.drillId,
    summary: lines.join('\n'),
    pdfPath,
    failedChecks: failed.map((c) => c.title),
  };
}

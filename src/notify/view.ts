import { hostname } from 'node:os';
import { TOOL_VERSION } from '../config/index.ts';
import { formatBytes, formatDate, formatDuration, formatHours, formatMinutes, formatNumber, formatUtc } from '../format/index.ts';
import type { BackupSucceeded, DrillFinished, Escalation, JobFailed, JobKind, MonitorAlert, Notification } from './types.ts';

// Turns a (scrubbed) notification into the flat, pre-formatted view the templates in
// templates/notify/ print. Wording decisions and arithmetic live here; templates only lay out.
// Every field a template reads is present (null when empty): templates compile in strict mode.

/** The drill's PDF as the e-mail carries it: attached, or named when too large or unreadable. */
export interface ReportFile {
  fileName: string;
  /** null when the file could not be read. */
  sizeBytes: number | null;
  attached: boolean;
  limitBytes: number;
}

export interface ViewOptions {
  report?: ReportFile;
}

const JOB_TITLE: Record<JobKind, string> = { backup: 'Backup', drill: 'Restore drill', verify: 'Verification', prune: 'Retention (prune)', 'pitr-mark': 'Point-in-time marker' };
const MONITOR_TITLE: Record<MonitorAlert['monitor'], string> = {
  'backup-age': 'newest backup is too old',
  'backup-size-change': 'backup size changed sharply',
  'disk-free': 'disk space is running low',
  'drill-overdue': 'restore drill is overdue',
};

const plural = (count: number, one: string, many = `${one}s`): string => `${formatNumber(count)} ${count === 1 ? one : many}`;

function common(message: Notification) {
  return {
    kind: message.kind,
    database: message.database,
    at: formatUtc(message.at),
    footer: { tool: `pgdrill ${TOOL_VERSION}`, host: hostname() },
  };
}

function backupSucceeded(message: BackupSucceeded) {
  const { backup } = message;
  return {
    recovered: message.recovered,
    size: formatBytes(backup.sizeBytes),
    sizeBytes: formatNumber(backup.sizeBytes),
    duration: formatDuration(backup.durationMs),
    sha256: backup.sha256,
    key: backup.key,
    tier: backup.tier,
    id: backup.id,
  };
}

function jobFailed(message: JobFailed) {
  const retriesLeft = Math.max(0, message.attempts - message.attempt);
  const attempt = `${message.attempt} of ${message.attempts}`;
  return {
    job: message.job,
    jobTitle: JOB_TITLE[message.job],
    final: message.final,
    error: message.error,
    errorKind: message.errorKind,
    attempt,
    retriesLeft: retriesLeft === 0 ? 'no retries left' : `${plural(retriesLeft, 'retry', 'retries')} left`,
    nextStep: message.final
      ? 'No retry is left. Fix the cause above; the next scheduled run will try again, or start one by hand.'
      : 'pgdrill retries it automatically; you will hear again if the last retry fails.',
  };
}

function drillFinished(message: DrillFinished, report: ReportFile | undefined) {
  const f = message.figures;
  const figures = f
    ? {
        rto: f.rtoMs === null ? 'not reached' : formatMinutes(f.rtoMs),
        rtoTarget: `${formatNumber(f.rtoTargetMinutes)} min`,
        rtoMet: f.rtoMs !== null && f.rtoMs <= f.rtoTargetMinutes * 60_000 ? 'met' : 'MISSED',
        rpo: formatHours(f.rpoHours),
        rpoTarget: formatHours(f.rpoTargetHours),
        rpoMet: f.rpoHours <= f.rpoTargetHours ? 'met' : 'MISSED',
        checks: `${formatNumber(f.checksPassed)} of ${formatNumber(f.checksTotal)} passed`,
        nextDrillDue: formatDate(f.nextDrillDue),
        backupId: f.backupId,
      }
    : null;
  const failed = message.failedChecks.length;
  return {
    passed: message.verdict === 'PASS',
    failedCount: failed ? plural(failed, 'check') : null,
    verdict: message.verdict,
    drillId: message.drillId,
    summary: message.summary,
    figures,
    failedChecks: message.failedChecks,
    report: report
      ? {
          fileName: report.fileName,
          attached: report.attached,
          size: report.sizeBytes === null ? null : formatBytes(report.sizeBytes),
          why: report.attached
            ? null
            : report.sizeBytes === null
              ? 'it could not be read on the machine that ran the drill'
              : `it is larger than the limit for attachments (notify.email.attachMaxBytes, ${formatBytes(report.limitBytes)})`,
          key: message.reportKey ?? null,
        }
      : null,
  };
}

function escalation(message: Escalation) {
  return {
    levelTag: message.level.toUpperCase(),
    level: message.level,
    recovered: message.level === 'recovered',
    job: message.job,
    jobTitle: JOB_TITLE[message.job],
    failures: plural(message.consecutiveFailures, 'failure'),
    times: plural(message.consecutiveFailures, 'time'),
    lastError: message.lastError ?? null,
    meaning: {
      warning: 'One run failed after all its retries. The next scheduled run may fix it; if it fails too, this becomes critical.',
      critical: 'Two runs in a row failed after all their retries. Someone should look now; a third failure pages.',
      page: 'Three or more runs in a row failed after all their retries. The database is not being protected.',
      recovered: 'It works again; no action needed unless the cause is unknown.',
    }[message.level],
  };
}

function monitor(message: MonitorAlert) {
  const firing = message.state === 'firing';
  return {
    tag: firing ? (message.severity === 'info' ? 'ALERT' : message.severity.toUpperCase()) : 'RESOLVED',
    monitor: message.monitor,
    title: MONITOR_TITLE[message.monitor],
    firing,
    detail: message.detail,
  };
}

/** The template view of one notification (already scrubbed by the caller). */
export function buildView(message: Notification, options: ViewOptions = {}) {
  const base = common(message);
  switch (message.kind) {
    case 'backup-succeeded':
      return { ...base, ...backupSucceeded(message) };
    case 'job-failed':
      return { ...base, ...jobFailed(message) };
    case 'drill-finished':
      return { ...base, ...drillFinished(message, options.report) };
    case 'escalation':
      return { ...base, ...escalation(message) };
    case 'monitor':
      return { ...base, ...monitor(message) };
  }
}

// One sample of each notification kind, at fixed dates, for the notify tests.
import { readFile } from 'node:fs/promises';
import { parseEvidence } from '../../src/evidence/index.ts';
import { buildNotification } from '../../src/notify/index.ts';
import type { BackupSucceeded, DrillFinished, Escalation, JobFailed, MonitorAlert } from '../../src/notify/index.ts';

export const AT = '2026-11-23T01:04:12.000Z';

export function backupSucceeded(overrides: Partial<BackupSucceeded> = {}): BackupSucceeded {
  return {
    kind: 'backup-succeeded',
    database: 'oslrs',
    severity: 'info',
    at: AT,
    recovered: false,
    backup: {
      id: '2026-11-23-oslrs',
      key: 'backups/daily/2026-11-23-oslrs.dump.zst.enc',
      tier: 'daily',
      sizeBytes: 2_871_402_113,
      durationMs: 252_000,
      sha256: '87b04e58961f9a99d853d4046a0b5b793e7c3e4bbd21f5aca8fb17c20cdb1d8b',
    },
    ...overrides,
  };
}

export function jobFailed(overrides: Partial<JobFailed> = {}): JobFailed {
  return {
    kind: 'job-failed',
    database: 'oslrs',
    severity: 'warning',
    at: AT,
    job: 'backup',
    error: 'pg_dump failed (exit code 1): connection refused',
    errorKind: 'BackupError',
    attempt: 2,
    attempts: 4,
    final: false,
    ...overrides,
  };
}

export function escalation(overrides: Partial<Escalation> = {}): Escalation {
  return { kind: 'escalation', database: 'oslrs', severity: 'warning', at: AT, job: 'backup', level: 'warning', consecutiveFailures: 1, lastError: 'pg_dump failed', ...overrides };
}

export function monitorAlert(overrides: Partial<MonitorAlert> = {}): MonitorAlert {
  return {
    kind: 'monitor',
    database: 'oslrs',
    severity: 'critical',
    at: AT,
    monitor: 'backup-age',
    state: 'firing',
    detail: 'the newest valid backup is 30 h old (limit 26 h)',
    ...overrides,
  };
}

export async function drillFinished(fixture: 'pass' | 'fail', pdfPath: string, reportKey?: string): Promise<DrillFinished> {
  const evidence = parseEvidence(await readFile(new URL(`../fixtures/evidence-${fixture}.json`, import.meta.url)));
  return buildNotification(evidence, pdfPath, { reportKey });
}

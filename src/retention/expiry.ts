import { isoDay, type BackupTier } from '../catalog/index.ts';
import type { RetentionPlan, RetentionPolicy } from './plan.ts';

// When retention will delete a backup, and why: what the admin page shows beside each backup. The
// plan says what the next prune does; beyond that the date is a projection that assumes backups go
// on as scheduled (a daily leaves the window once `policy.daily` newer days have backups).

export interface BackupExpiry {
  /** When retention is expected to delete it (ISO-8601 UTC), or null: not while `reason` holds. */
  at: string | null;
  reason: string;
}

const DAY_MS = 86_400_000;

/** The expiry of one backup of `plan` (tier and id as planned; `takenAt` its manifest's startedAt). */
export function retentionExpiry(
  plan: RetentionPlan,
  backup: { tier: BackupTier; id: string; database: string; takenAt: Date },
  policy: RetentionPolicy,
  now: Date,
): BackupExpiry {
  const same = (d: { tier: BackupTier; id: string; database: string }) => d.tier === backup.tier && d.id === backup.id && d.database === backup.database;
  const deletion = plan.delete.find(same);
  if (deletion) return { at: now.toISOString(), reason: `deleted by the next prune: ${deletion.reasons.join('; ')}` };
  const reasons = plan.keep.find(same)?.reasons ?? [];
  const newest = reasons.find((r) => r.startsWith('kept: newest valid backup'));
  if (newest) return { at: null, reason: `${newest}: never deleted while it is the newest` };
  const future = reasons.find((r) => r.startsWith('kept: dated in the future'));
  if (future) return { at: null, reason: future };
  const count = policy[backup.tier];
  const start = new Date(`${isoDay(backup.takenAt)}T00:00:00.000Z`);
  let at: Date;
  let rule: string;
  if (backup.tier === 'monthly') {
    at = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + count, 1));
    rule = `monthly retention keeps the last ${count} month(s)`;
  } else if (backup.tier === 'weekly') {
    at = new Date(start.getTime() + count * 7 * DAY_MS);
    rule = `weekly retention keeps the last ${count} week(s)`;
  } else {
    at = new Date(start.getTime() + count * DAY_MS);
    rule = `daily retention keeps the last ${count} day(s) with backups`;
  }
  return { at: at.toISOString(), reason: `${rule}: deleted by the first prune from ${isoDay(at)} if backups go on as scheduled` };
}

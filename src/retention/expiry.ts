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

type Planned = { tier: BackupTier; id: string; database: string };

const plannedKey = (b: Planned): string => `${b.database}\0${b.tier}\0${b.id}`;

/**
 * The expiry of every backup of `plan`, by `expiryKey` (`takenAt`: each backup's manifest startedAt).
 * One pass over the plan: fine for a catalog of tens of thousands.
 */
export function retentionExpiries(plan: RetentionPlan, backups: ReadonlyArray<Planned & { takenAt: Date }>, policy: RetentionPolicy, now: Date): Map<string, BackupExpiry> {
  const decisions = new Map<string, { deleted: boolean; reasons: readonly string[] }>();
  for (const d of plan.keep) decisions.set(plannedKey(d), { deleted: false, reasons: d.reasons });
  for (const d of plan.delete) decisions.set(plannedKey(d), { deleted: true, reasons: d.reasons });
  const out = new Map<string, BackupExpiry>();
  for (const backup of backups) {
    const key = plannedKey(backup);
    out.set(key, expiryOf(backup, decisions.get(key) ?? { deleted: false, reasons: [] }, policy, now));
  }
  return out;
}

/** The key of a backup in `retentionExpiries`' map. */
export const expiryKey = (backup: Planned): string => plannedKey(backup);

function expiryOf(backup: Planned & { takenAt: Date }, decision: { deleted: boolean; reasons: readonly string[] }, policy: RetentionPolicy, now: Date): BackupExpiry {
  if (decision.deleted) return { at: now.toISOString(), reason: `deleted by the next prune: ${decision.reasons.join('; ')}` };
  const newest = decision.reasons.find((r) => r.startsWith('kept: newest valid backup'));
  if (newest) return { at: null, reason: `${newest}: never deleted while it is the newest` };
  const future = decision.reasons.find((r) => r.startsWith('kept: dated in the future'));
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

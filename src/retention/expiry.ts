import { FULL_SERIES, isoDay, isoMonth, isoQuarter, isoWeek, isoYear, type BackupTier } from '../catalog/index.ts';
import { policyCount, type RetentionPlan, type RetentionPolicy } from './plan.ts';

// When retention will delete a backup, and why: what the admin page shows beside each backup. The
// plan says what the next prune does; beyond that the date is a projection: a backup kept by its
// tier's window leaves it once `count` newer periods (days, ISO weeks, months, quarters, years) of its series have
// backups, so with the newer periods it has now, it goes after that many more periods of backups
// taken as scheduled.

export interface BackupExpiry {
  /** When retention is expected to delete it (ISO-8601 UTC), or null: not while `reason` holds. */
  at: string | null;
  reason: string;
}

type Planned = { tier: BackupTier; id: string; database: string };
type Candidate = Planned & { takenAt: Date; series?: string };

const DAY_MS = 86_400_000;
const PERIOD: Record<BackupTier, { of: (date: Date) => string; unit: string }> = {
  daily: { of: isoDay, unit: 'day' },
  weekly: { of: isoWeek, unit: 'week' },
  monthly: { of: isoMonth, unit: 'month' },
  quarterly: { of: isoQuarter, unit: 'quarter' },
  yearly: { of: isoYear, unit: 'year' },
};

/** The key of a backup in `retentionExpiries`' map. */
export const expiryKey = (backup: Planned): string => `${backup.database}\0${backup.tier}\0${backup.id}`;

/** Start of the period `periods` periods after the one `now` is in. */
function periodsAfter(tier: BackupTier, now: Date, periods: number): Date {
  const day = new Date(`${isoDay(now)}T00:00:00.000Z`);
  const monthsPer = { monthly: 1, quarterly: 3, yearly: 12 } as const;
  if (tier === 'monthly' || tier === 'quarterly' || tier === 'yearly') {
    const months = monthsPer[tier];
    // The start of the period `now` is in, then `periods` periods on.
    const first = Math.floor(day.getUTCMonth() / months) * months;
    return new Date(Date.UTC(day.getUTCFullYear(), first + periods * months, 1));
  }
  return new Date(day.getTime() + periods * (tier === 'weekly' ? 7 : 1) * DAY_MS);
}

/**
 * The expiry of every backup of `plan`, by `expiryKey` (`takenAt`: each backup's manifest
 * startedAt; `series`: its retention series, full by default). One pass: fine for tens of thousands.
 */
export function retentionExpiries(plan: RetentionPlan, backups: readonly Candidate[], policy: RetentionPolicy, now: Date): Map<string, BackupExpiry> {
  const decisions = new Map<string, { deleted: boolean; reasons: readonly string[] }>();
  for (const d of plan.keep) decisions.set(expiryKey(d), { deleted: false, reasons: d.reasons });
  for (const d of plan.delete) decisions.set(expiryKey(d), { deleted: true, reasons: d.reasons });
  // Per database, series and tier: its periods with backups, newest first.
  const windows = new Map<string, string[]>();
  const windowKey = (b: Candidate) => `${b.database}\0${b.series ?? FULL_SERIES}\0${b.tier}`;
  for (const b of backups) {
    const list = windows.get(windowKey(b)) ?? [];
    list.push(PERIOD[b.tier].of(b.takenAt));
    windows.set(windowKey(b), list);
  }
  for (const [key, list] of windows) windows.set(key, [...new Set(list)].sort().reverse());

  const out = new Map<string, BackupExpiry>();
  for (const b of backups) {
    const key = expiryKey(b);
    const decision = decisions.get(key) ?? { deleted: false, reasons: [] };
    out.set(key, expiryOf(b, decision, policy, now, windows.get(windowKey(b))!.indexOf(PERIOD[b.tier].of(b.takenAt))));
  }
  return out;
}

function expiryOf(backup: Candidate, decision: { deleted: boolean; reasons: readonly string[] }, policy: RetentionPolicy, now: Date, newerPeriods: number): BackupExpiry {
  if (decision.deleted) return { at: now.toISOString(), reason: `deleted by the next prune: ${decision.reasons.join('; ')}` };
  const newest = decision.reasons.find((r) => r.startsWith('kept: newest valid backup'));
  if (newest) return { at: null, reason: `${newest}: never deleted while it is the newest` };
  const future = decision.reasons.find((r) => r.startsWith('kept: dated in the future'));
  if (future) return { at: null, reason: future };
  const count = policyCount(policy, backup.tier);
  const { unit } = PERIOD[backup.tier];
  const at = periodsAfter(backup.tier, now, Math.max(1, count - newerPeriods));
  return {
    at: at.toISOString(),
    reason: `${backup.tier} retention keeps the last ${count} ${unit}(s) with backups; ${newerPeriods} newer ${unit}(s) have one: deleted by the first prune from ${isoDay(at)} if backups go on as scheduled`,
  };
}

import { FULL_SERIES, isoDay, isoHour, isoMonth, isoQuarter, isoWeek, isoYear, type BackupTier } from '../catalog/index.ts';
import { policyCount, type RetentionPlan, type RetentionPolicy } from './plan.ts';

// When retention will delete a backup, and why: what the admin page shows beside each backup. The
// plan says what the next prune does; beyond that the date is a projection: a backup kept by its
// tier's window leaves it once `count` newer periods (days, ISO weeks, months, quarters, years) of its series have
// backups, so with the newer periods it has now, it goes after that many more periods of backups
// taken as scheduled. A daily kept only by the hourly window (not its day's newest) leaves that
// window the same way, counted in hours: its expiry is the hourly one.

export interface BackupExpiry {
  /** When retention is expected to delete it (ISO-8601 UTC), or null: not while `reason` holds. */
  at: string | null;
  reason: string;
}

type Planned = { tier: BackupTier; id: string; database: string };
type Candidate = Planned & { takenAt: Date; series?: string };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
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
  // Backups dated after `now` are in no window (the planner keeps them apart): they count as no newer period.
  const windowed = backups.filter((b) => b.takenAt.getTime() <= now.getTime());
  for (const b of windowed) {
    const list = windows.get(windowKey(b)) ?? [];
    list.push(PERIOD[b.tier].of(b.takenAt));
    windows.set(windowKey(b), list);
  }
  // The hourly window runs over the daily tier: its hours with backups, per database and series.
  const hourKey = (b: Candidate) => `${b.database}\0${b.series ?? FULL_SERIES}\0hourly`;
  for (const b of windowed) {
    if (b.tier !== 'daily') continue;
    const list = windows.get(hourKey(b)) ?? [];
    list.push(isoHour(b.takenAt));
    windows.set(hourKey(b), list);
  }
  for (const [key, list] of windows) windows.set(key, [...new Set(list)].sort().reverse());

  const out = new Map<string, BackupExpiry>();
  for (const b of backups) {
    const key = expiryKey(b);
    const decision = decisions.get(key) ?? { deleted: false, reasons: [] };
    const newer = { periods: windows.get(windowKey(b))?.indexOf(PERIOD[b.tier].of(b.takenAt)) ?? -1, hours: windows.get(hourKey(b))?.indexOf(isoHour(b.takenAt)) ?? -1 };
    out.set(key, expiryOf(b, decision, policy, now, newer));
  }
  return out;
}

function expiryOf(backup: Candidate, decision: { deleted: boolean; reasons: readonly string[] }, policy: RetentionPolicy, now: Date, newer: { periods: number; hours: number }): BackupExpiry {
  if (decision.deleted) return { at: now.toISOString(), reason: `deleted by the next prune: ${decision.reasons.join('; ')}` };
  const newest = decision.reasons.find((r) => r.startsWith('kept: newest valid backup'));
  if (newest) return { at: null, reason: `${newest}: never deleted while it is the newest` };
  const future = decision.reasons.find((r) => r.startsWith('kept: dated in the future'));
  if (future) return { at: null, reason: future };
  // Kept while either window keeps it: the later of the two projections.
  const byHour = decision.reasons.some((r) => r.startsWith('kept: hourly ')) ? hourlyExpiry(policy, now, newer.hours) : undefined;
  const byTier = !byHour || decision.reasons.some((r) => r.startsWith(`kept: ${backup.tier} `)) ? tierExpiry(backup.tier, policy, now, newer.periods) : undefined;
  return byHour && byTier ? (byHour.at! > byTier.at! ? byHour : byTier) : (byHour ?? byTier)!;
}

function hourlyExpiry(policy: RetentionPolicy, now: Date, newerHours: number): BackupExpiry {
  const count = policyCount(policy, 'hourly');
  const at = new Date(new Date(`${isoHour(now)}:00:00.000Z`).getTime() + Math.max(1, count - newerHours) * HOUR_MS);
  return {
    at: at.toISOString(),
    reason: `the hourly window keeps the last ${count} hour(s) with backups; ${newerHours} newer hour(s) have one: deleted by the first prune from ${isoHour(at)}:00 UTC if a backup is taken every hour (later when they are further apart)`,
  };
}

function tierExpiry(tier: BackupTier, policy: RetentionPolicy, now: Date, newerPeriods: number): BackupExpiry {
  const count = policyCount(policy, tier);
  const { unit } = PERIOD[tier];
  const at = periodsAfter(tier, now, Math.max(1, count - newerPeriods));
  return {
    at: at.toISOString(),
    reason: `${tier} retention keeps the last ${count} ${unit}(s) with backups; ${newerPeriods} newer ${unit}(s) have one: deleted by the first prune from ${isoDay(at)} if backups go on as scheduled`,
  };
}

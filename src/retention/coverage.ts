// Retention coverage: which of the months and days the policy promises are actually backed up.
// Feeds the drill's retention-coverage check and the report's inventory grid. Pure, UTC.
//
// - `monthly`: exactly `policy.monthly` calendar months ending with the current month, OLDEST
//   FIRST. A month is `not-due` when it is before the month of the first backup ever taken
//   (`firstBackupAt`, default the earliest backup in the input, or `now` when there is none), so the
//   policy could not have covered it yet; `present` when a valid full monthly copy is dated in it
//   (for the current month a valid full daily also counts: promotion follows the month's first
//   full backup); else `missing`.
// - `daily`: the last `policy.daily` UTC days (7 by default), today included, oldest first; a day
//   is `present` when a valid full backup of any tier is dated on it.
// - Partial backups (--schema-only, --tables, --exclude-table) cover nothing: a day or month with
//   only partial backups cannot be restored whole, so it is `missing`.
// - Today and the current month are `missing` until their first backup exists: a check run
//   before the day's backup time reports them.
// Coverage is per database: pass one database's backups, or name it in `database`.

import { isoDay, isoMonth } from '../catalog/index.ts';
import { PgdrillError } from '../errors/index.ts';
import { assertRetentionPolicy } from './plan.ts';
import type { RetentionCandidate, RetentionPolicy } from './plan.ts';

export type SlotState = 'present' | 'missing' | 'not-due';

export interface MonthSlot {
  /** `YYYY-MM` */
  month: string;
  state: SlotState;
}

export interface DaySlot {
  /** `YYYY-MM-DD` */
  day: string;
  state: SlotState;
}

export interface RetentionCoverage {
  /** policy.monthly slots, oldest first, the last one is the current month. */
  monthly: MonthSlot[];
  /** policy.daily slots, oldest first, the last one is today. */
  daily: DaySlot[];
  /** Months and days in state `missing`, oldest first. */
  missingMonths: string[];
  missingDays: string[];
  /** No slot is missing. */
  complete: boolean;
}

export type Coverage = RetentionCoverage;

export interface RetentionCoverageInput {
  backups: readonly RetentionCandidate[];
  policy: RetentionPolicy;
  now: Date;
  /** When the first backup of this database was ever taken; default: the earliest in `backups`. */
  firstBackupAt?: Date;
  /** Only consider this database's backups. Required when `backups` holds several databases. */
  database?: string;
}

export function retentionCoverage(input: RetentionCoverageInput): RetentionCoverage {
  const { policy, now } = input;
  assertRetentionPolicy(policy);
  const backups = input.database === undefined ? input.backups : input.backups.filter((c) => c.database === input.database);
  const databases = new Set(backups.map((c) => c.database));
  if (databases.size > 1) {
    throw new PgdrillError(`retention coverage: backups of ${databases.size} databases given; pass one database's backups or name it in \`database\``);
  }

  const first = input.firstBackupAt ?? earliest(backups) ?? now;
  const firstMonth = isoMonth(first);
  const firstDay = isoDay(first);
  const currentMonth = isoMonth(now);
  const covering = backups.filter((c) => c.full);
  const monthsWithCopy = new Set(covering.filter((c) => c.tier === 'monthly').map((c) => isoMonth(c.takenAt)));
  const monthsWithDaily = new Set(covering.filter((c) => c.tier === 'daily').map((c) => isoMonth(c.takenAt)));
  const daysWithBackup = new Set(covering.map((c) => isoDay(c.takenAt)));

  const monthly = lastMonths(now, policy.monthly).map((month): MonthSlot => {
    if (month < firstMonth) return { month, state: 'not-due' };
    const present = monthsWithCopy.has(month) || (month === currentMonth && monthsWithDaily.has(month));
    return { month, state: present ? 'present' : 'missing' };
  });
  const daily = lastDays(now, policy.daily).map((day): DaySlot => {
    if (day < firstDay) return { day, state: 'not-due' };
    return { day, state: daysWithBackup.has(day) ? 'present' : 'missing' };
  });

  const missingMonths = monthly.filter((s) => s.state === 'missing').map((s) => s.month);
  const missingDays = daily.filter((s) => s.state === 'missing').map((s) => s.day);
  return { monthly, daily, missingMonths, missingDays, complete: missingMonths.length === 0 && missingDays.length === 0 };
}

/** The `count` calendar months ending with the month of `now`, oldest first. */
function lastMonths(now: Date, count: number): string[] {
  const out: string[] = [];
  for (let back = count - 1; back >= 0; back--) {
    out.push(isoMonth(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1))));
  }
  return out;
}

/** The `count` UTC days ending with the day of `now`, oldest first. */
function lastDays(now: Date, count: number): string[] {
  const out: string[] = [];
  for (let back = count - 1; back >= 0; back--) {
    out.push(isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - back))));
  }
  return out;
}

function earliest(backups: readonly RetentionCandidate[]): Date | undefined {
  let min: Date | undefined;
  for (const c of backups) if (!min || c.takenAt.getTime() < min.getTime()) min = c.takenAt;
  return min;
}

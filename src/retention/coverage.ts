// Retention coverage: which of the periods the policy promises are actually backed up, per enabled
// tier. Feeds the drill's retention-coverage check and the report's inventory grid. Pure, UTC.
//
// - Copy tiers (`monthly`, and `weekly`, `quarterly`, `yearly` when their count is > 0): exactly
//   that many periods ending with the current one, OLDEST FIRST. A period is `not-due` when it is
//   before the period of the first backup ever taken (`firstBackupAt`, default the earliest backup
//   in the input, or `now` when there is none), so the policy could not have covered it yet;
//   `present` when a valid full copy of the tier is dated in it (for the current period a valid
//   full daily also counts: promotion follows the period's first full backup); else `missing`.
// - `daily`: the last `policy.daily` UTC days (7 by default), today included, oldest first; a day
//   is `present` when a valid full backup of any tier is dated on it. `hourly` (count > 0): the
//   last N UTC hours, the current one included, the same way.
// - Partial backups (--schema-only, --tables, --exclude-table) cover nothing: a period with
//   only partial backups cannot be restored whole, so it is `missing`.
// - Today, the current hour and the current month are `missing` until their first backup exists:
//   a check run before the backup time reports them.
// Coverage is per database: pass one database's backups, or name it in `database`.

import { isoHour, tierPeriod } from '../catalog/index.ts';
import { PgdrillError } from '../errors/index.ts';
import { assertRetentionPolicy, policyCount, RETENTION_TIERS } from './plan.ts';
import type { RetentionCandidate, RetentionPolicy, RetentionTierName } from './plan.ts';

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

/** One period a tier promises: `2026-11-23T14`, `2026-11-23`, `2026-W48`, `2026-11`, `2026-Q4` or `2026`. */
export interface PeriodSlot {
  period: string;
  state: SlotState;
}

/** The slots of one enabled tier, oldest first (the last one is the current period). */
export interface TierCoverage {
  tier: RetentionTierName;
  slots: PeriodSlot[];
  /** Periods in state `missing`, oldest first. */
  missing: string[];
}

export interface RetentionCoverage {
  /** policy.monthly slots, oldest first, the last one is the current month. */
  monthly: MonthSlot[];
  /** policy.daily slots, oldest first, the last one is today. */
  daily: DaySlot[];
  /** Months and days in state `missing`, oldest first. */
  missingMonths: string[];
  missingDays: string[];
  /** Every tier whose count is > 0, in order hourly, daily, weekly, monthly, quarterly, yearly. */
  tiers: TierCoverage[];
  /** No slot of any tier is missing. */
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

const periodOf = (tier: RetentionTierName, date: Date): string => (tier === 'hourly' ? isoHour(date) : tierPeriod(tier, date));

export function retentionCoverage(input: RetentionCoverageInput): RetentionCoverage {
  const { policy, now } = input;
  assertRetentionPolicy(policy);
  const backups = input.database === undefined ? input.backups : input.backups.filter((c) => c.database === input.database);
  const databases = new Set(backups.map((c) => c.database));
  if (databases.size > 1) {
    throw new PgdrillError(`retention coverage: backups of ${databases.size} databases given; pass one database's backups or name it in \`database\``);
  }

  const first = input.firstBackupAt ?? earliest(backups) ?? now;
  const covering = backups.filter((c) => c.full);

  const tierSlots = (tier: RetentionTierName): PeriodSlot[] => {
    const firstPeriod = periodOf(tier, first);
    // Hours and days are covered by a backup of any tier; a copy tier's periods by a copy of it
    // (or, for the current period, by the daily it will be promoted from).
    const byAnyBackup = tier === 'hourly' || tier === 'daily';
    const withCopy = new Set(covering.filter((c) => byAnyBackup || c.tier === tier).map((c) => periodOf(tier, c.takenAt)));
    const current = periodOf(tier, now);
    const currentHasDaily = covering.some((c) => c.tier === 'daily' && periodOf(tier, c.takenAt) === current);
    return lastPeriods(tier, now, policyCount(policy, tier)).map((period): PeriodSlot => {
      if (period < firstPeriod) return { period, state: 'not-due' };
      const present = withCopy.has(period) || (period === current && currentHasDaily);
      return { period, state: present ? 'present' : 'missing' };
    });
  };

  const tiers = RETENTION_TIERS.filter((tier) => policyCount(policy, tier) > 0 || tier === 'daily' || tier === 'monthly').map((tier): TierCoverage => {
    const slots = tierSlots(tier);
    return { tier, slots, missing: slots.filter((s) => s.state === 'missing').map((s) => s.period) };
  });
  const slotsOf = (tier: RetentionTierName): TierCoverage => tiers.find((t) => t.tier === tier)!;
  const monthly = slotsOf('monthly').slots.map(({ period, state }): MonthSlot => ({ month: period, state }));
  const daily = slotsOf('daily').slots.map(({ period, state }): DaySlot => ({ day: period, state }));
  return {
    monthly,
    daily,
    missingMonths: slotsOf('monthly').missing,
    missingDays: slotsOf('daily').missing,
    // Daily and monthly are always computed (the report's grid shows them); a count of 0 yields no slot.
    tiers: tiers.filter((t) => t.slots.length > 0),
    complete: tiers.every((t) => t.missing.length === 0),
  };
}

/** The `count` periods of a tier ending with the one `now` falls in, oldest first. */
function lastPeriods(tier: RetentionTierName, now: Date, count: number): string[] {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const at = (back: number): Date => {
    switch (tier) {
      case 'hourly':
        return new Date(now.getTime() - back * 3_600_000);
      case 'daily':
        return new Date(Date.UTC(y, m, now.getUTCDate() - back));
      case 'weekly':
        return new Date(Date.UTC(y, m, now.getUTCDate() - 7 * back));
      case 'monthly':
        return new Date(Date.UTC(y, m - back, 1));
      case 'quarterly':
        return new Date(Date.UTC(y, m - 3 * back, 1));
      case 'yearly':
        return new Date(Date.UTC(y - back, 0, 1));
    }
  };
  const out: string[] = [];
  for (let back = count - 1; back >= 0; back--) out.push(periodOf(tier, at(back)));
  return out;
}

function earliest(backups: readonly RetentionCandidate[]): Date | undefined {
  let min: Date | undefined;
  for (const c of backups) if (!min || c.takenAt.getTime() < min.getTime()) min = c.takenAt;
  return min;
}

// Retention planning (seed 001 AC3, seed 004 BR-004): a pure function from the backups that exist
// to what to keep, delete and promote, each decision with its reasons. No I/O; the caller lists
// manifests, runs the promotions (copies), then the deletions.
//
// Semantics, per database independently (all dates in UTC):
// - Series: every full backup of a database (whole database, data included) is one series; each
//   distinct partial selection (--schema-only, --tables, --exclude-table) is a series of its own.
//   The windows below apply per series: a backup only supersedes or expires backups of its own
//   series, so a schema-only backup never replaces the day's full one. Decisions about a partial
//   backup name its series (`kept: daily 2026-11-23 (partial: schema-only)`).
// - Daily tier, like restic's `keep-daily N`: take the newest N distinct UTC days that have a valid
//   daily backup of the series; keep the newest valid backup of each of those days. Other valid
//   dailies are deleted: on an older day `expired`, on a kept day but not the newest `superseded`.
// - Hourly (policy.hourly > 0): a second window over the same daily-tier backups (every backup is
//   taken into `daily/`, same-day ones numbered -2, -3, …): the newest backup of each of the newest
//   N distinct UTC hours with backups is kept too (`kept: hourly 2026-11-23T14`). A backup is kept
//   when either window keeps it; a deleted one carries the daily window's reason.
// - Weekly (ISO weeks), monthly, quarterly and yearly tiers: the same rule over the promoted
//   copies of that tier, with N = policy.weekly / monthly / quarterly / yearly. With N = 0 every
//   copy of the tier goes.
// - Promotion (for each copy tier whose count is > 0), of full backups only: a period (ISO week,
//   month, quarter, year) that has a full daily but no full copy of the tier gets its FIRST
//   (earliest) full daily still present copied, if the period falls inside the tier's window counted over existing full copies
//   plus this run's promotions. The source daily is kept in this plan
//   (`kept: source of monthly promotion 2026-11`). Never onto an id that is taken, by a backup or
//   by an unreadable manifest (`unreadable`: damaged, or written by a newer pgdrill): such a
//   period is left for a human, and coverage reports it missing.
// - Deletions of copies count only copies that exist now: a copy pushed out of the window by this
//   run's promotion is deleted by the next run, once the new copy exists. Never delete more than
//   needed. Execute promotions before deletions, and skip deletions if a promotion failed.
// - Only backups whose manifest validated are planned; unreadable manifests are not backups and
//   retention never touches them (nor their objects).
// - Safety: the newest valid full backup of each database (of any tier, not dated in the future)
//   is never deleted (`kept: newest valid backup`), whatever the policy says; nor is the newest of
//   each partial series. Backups dated after `now` are kept
//   (`kept: dated in the future (clock skew?)`) and take no part in the windows.
// - Every input backup appears in exactly one of keep/delete; a kept backup lists every reason it
//   is kept. Output is ordered by database, tier (daily, weekly, monthly, quarterly, yearly), takenAt, id.

import { BACKUP_TIERS, backupId, COPY_TIERS, FULL_SERIES, isoDay, isoHour, tierPeriod, type BackupTier, type CopyTier } from '../catalog/index.ts';
import { ConfigError, PgdrillError } from '../errors/index.ts';

export interface RetentionCandidate {
  id: string;
  tier: BackupTier;
  database: string;
  /** The manifest's startedAt (UTC). A promoted copy carries its source's startedAt. */
  takenAt: Date;
  /** Whole database with data (backupSeries); only full backups are promoted or restored by default. */
  full: boolean;
  /** FULL_SERIES for every full backup, else the partial selection (backupSeries). */
  series: string;
}

/** How many periods each tier keeps; a tier left out (or 0) keeps nothing (hourly: no hourly window). */
export interface RetentionPolicy {
  /** Hourly window over the daily-tier backups (0: off). */
  hourly?: number;
  daily: number;
  weekly: number;
  monthly: number;
  quarterly?: number;
  yearly?: number;
}

/** Every count of the policy, in tier order. */
export type RetentionTierName = 'hourly' | BackupTier;
export const RETENTION_TIERS: readonly RetentionTierName[] = ['hourly', ...BACKUP_TIERS];

/** The count a policy keeps for a tier (0 when left out). */
export function policyCount(policy: RetentionPolicy, tier: RetentionTierName): number {
  return policy[tier] ?? 0;
}

/** 7 dailies, no weeklies, 84 monthlies (7 years); no hourly window, no quarterly or yearly copies. */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({ hourly: 0, daily: 7, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });

export interface RetentionDecision {
  id: string;
  tier: BackupTier;
  database: string;
  reasons: string[];
}

export interface RetentionPromotion {
  fromId: string;
  tier: CopyTier;
  /** `GGGG-Www`, `YYYY-MM`, `YYYY-Qn` or `YYYY`. */
  period: string;
  /** backupId(tier, source takenAt, database). */
  toId: string;
  reason: string;
}

export interface RetentionPlan {
  keep: RetentionDecision[];
  delete: RetentionDecision[];
  promote: RetentionPromotion[];
}


/** A manifest that exists but does not validate: not a backup, but its id is taken. */
export interface UnreadableManifest {
  tier: BackupTier;
  id: string;
}

export interface RetentionPlanInput {
  /** Backups whose manifest validated. */
  backups: readonly RetentionCandidate[];
  /** Manifests that did not validate: promotions never target their ids (or same-period `-N` ids). */
  unreadable?: readonly UnreadableManifest[];
  policy: RetentionPolicy;
  now: Date;
}

interface TierRule {
  /** Named in reasons: `hourly` is a window over the daily tier. */
  tier: RetentionTierName;
  count: number;
  unit: 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';
  periodOf: (date: Date) => string;
}

const UNIT: Record<BackupTier, TierRule['unit']> = { daily: 'day', weekly: 'week', monthly: 'month', quarterly: 'quarter', yearly: 'year' };

type Verdict = { keep: string[]; drop: string | undefined };

/** One series' window over one tier: the newest backup of each period and the periods kept. */
interface SeriesWindow {
  newestPerPeriod: Map<string, RetentionCandidate>;
  kept: Set<string>;
}

const TIER_ORDER = Object.fromEntries(BACKUP_TIERS.map((tier, i) => [tier, i])) as Record<BackupTier, number>;

export function planRetention(input: RetentionPlanInput): RetentionPlan {
  const { backups, policy, now } = input;
  assertRetentionPolicy(policy);
  if (Number.isNaN(now.getTime())) throw new ConfigError('retention: `now` is not a valid date');
  const takenIds = assertCandidates(backups);
  const unreadable = input.unreadable ?? [];
  for (const u of unreadable) takenIds.add(`${u.tier}/${u.id}`);

  const rules = Object.fromEntries(
    BACKUP_TIERS.map((tier) => [tier, { tier, count: policyCount(policy, tier), unit: UNIT[tier], periodOf: (date: Date) => tierPeriod(tier, date) }]),
  ) as Record<BackupTier, TierRule>;
  const hourly: TierRule = { tier: 'hourly', count: policyCount(policy, 'hourly'), unit: 'hour', periodOf: isoHour };

  const verdicts = new Map<RetentionCandidate, Verdict>(backups.map((c) => [c, { keep: [], drop: undefined }]));
  const verdict = (c: RetentionCandidate): Verdict => verdicts.get(c) as Verdict;
  const keep = (c: RetentionCandidate, reason: string): void => void verdict(c).keep.push(reason);
  const drop = (c: RetentionCandidate, reason: string): void => {
    verdict(c).drop ??= reason;
  };
  const promote: RetentionPromotion[] = [];

  const databases = [...new Set(backups.map((c) => c.database))].sort(compareText);
  for (const database of databases) {
    const mine = backups.filter((c) => c.database === database);
    const isFuture = (c: RetentionCandidate): boolean => c.takenAt.getTime() > now.getTime();
    const present = mine.filter((c) => !isFuture(c));
    const ofTier = (tier: BackupTier): RetentionCandidate[] => present.filter((c) => c.tier === tier);

    for (const tier of BACKUP_TIERS) planTier(ofTier(tier), rules[tier], keep, drop);
    // After the daily window, so that a backup neither window keeps carries the daily reason.
    if (hourly.count > 0) planTier(ofTier('daily'), hourly, keep, drop);

    const fullDailies = ofTier('daily').filter((c) => c.full);
    for (const tier of COPY_TIERS) {
      const copies = mine.filter((c) => c.tier === tier);
      for (const p of planPromotions(tier, database, fullDailies, copies, rules[tier], isFuture, takenIds, unreadable)) {
        promote.push(p);
        const source = fullDailies.find((c) => c.id === p.fromId) as RetentionCandidate;
        keep(source, `kept: source of ${tier} promotion ${p.period}`);
      }
    }

    for (const series of new Set(mine.map((c) => c.series))) {
      const ofSeries = (list: readonly RetentionCandidate[]) => list.filter((c) => c.series === series);
      const newest = newestOf(ofSeries(present)) ?? newestOf(ofSeries(mine));
      if (newest) keep(newest, `kept: newest valid backup${seriesNote(newest)}`);
    }
    for (const c of mine) if (isFuture(c)) keep(c, 'kept: dated in the future (clock skew?)');
  }

  const plan: RetentionPlan = { keep: [], delete: [], promote };
  for (const c of [...backups].sort(compareCandidates)) {
    const v = verdict(c);
    const base = { id: c.id, tier: c.tier, database: c.database };
    if (v.keep.length > 0) plan.keep.push({ ...base, reasons: v.keep });
    else if (v.drop !== undefined) plan.delete.push({ ...base, reasons: [v.drop] });
    else throw new PgdrillError(`retention: no decision for ${c.tier} ${c.id} (bug)`);
  }
  return plan;
}

/** Applies one tier's window to that tier's backups of one database (none dated in the future), per series. */
function planTier(
  backups: readonly RetentionCandidate[],
  rule: TierRule,
  keep: (c: RetentionCandidate, reason: string) => void,
  drop: (c: RetentionCandidate, reason: string) => void,
): void {
  const windows = new Map<string, SeriesWindow>();
  for (const series of new Set(backups.map((c) => c.series))) {
    windows.set(series, seriesWindow(backups.filter((c) => c.series === series), rule));
  }
  const expired = (period: string, note: string): string =>
    rule.count === 0
      ? `expired: ${rule.tier} ${period}${note}, ${rule.tier} retention is 0`
      : `expired: ${rule.tier} ${period}${note} beyond the last ${rule.count} ${rule.unit}${rule.count === 1 ? '' : 's'} with backups`;

  for (const c of backups) {
    const period = rule.periodOf(c.takenAt);
    const window = windows.get(c.series) as SeriesWindow;
    const note = seriesNote(c);
    if (!window.kept.has(period)) drop(c, expired(period, note));
    else if (window.newestPerPeriod.get(period) === c) keep(c, `kept: ${rule.tier} ${period}${note}`);
    else drop(c, `superseded: a newer backup of ${period}${note} is kept`);
  }
}

/** The window of one series' backups of one tier. */
function seriesWindow(backups: readonly RetentionCandidate[], rule: TierRule): SeriesWindow {
  const newestPerPeriod = new Map<string, RetentionCandidate>();
  for (const c of backups) {
    const period = rule.periodOf(c.takenAt);
    const current = newestPerPeriod.get(period);
    if (!current || compareTime(c, current) > 0) newestPerPeriod.set(period, c);
  }
  const periods = [...newestPerPeriod.keys()].sort(compareText).reverse();
  return { newestPerPeriod, kept: new Set(periods.slice(0, rule.count)) };
}

/** How a decision names a partial backup's series; nothing for a full backup. */
function seriesNote(c: RetentionCandidate): string {
  return c.full ? '' : ` (${c.series})`;
}

/** The copies of one tier to make for one database from its full, non-future dailies. */
function planPromotions(
  tier: CopyTier,
  database: string,
  fullDailies: readonly RetentionCandidate[],
  copies: readonly RetentionCandidate[],
  rule: TierRule,
  isFuture: (c: RetentionCandidate) => boolean,
  takenIds: Set<string>,
  unreadable: readonly UnreadableManifest[],
): RetentionPromotion[] {
  if (rule.count === 0) return [];
  // A partial copy (promoted before partial backups were a series of their own) covers no period.
  const withCopy = new Set(copies.filter((c) => c.full).map((c) => rule.periodOf(c.takenAt)));
  const copyPeriods = copies.filter((c) => c.full && !isFuture(c)).map((c) => rule.periodOf(c.takenAt));
  // An unreadable copy of this period (its id, or a same-period `-N` of it) may be the month's
  // only copy: never promote over or beside it; a human decides.
  const blockedByUnreadable = (toId: string): boolean =>
    unreadable.some((u) => u.tier === tier && (u.id === toId || (u.id.startsWith(`${toId}-`) && /^\d+$/.test(u.id.slice(toId.length + 1)))));

  const firstDaily = new Map<string, RetentionCandidate>();
  for (const c of fullDailies) {
    const period = rule.periodOf(c.takenAt);
    const current = firstDaily.get(period);
    if (!current || compareTime(c, current) < 0) firstDaily.set(period, c);
  }
  const wanted = [...firstDaily.keys()].filter((p) => !withCopy.has(p));
  const window = new Set([...new Set([...copyPeriods, ...wanted])].sort(compareText).reverse().slice(0, rule.count));

  const out: RetentionPromotion[] = [];
  for (const period of wanted.sort(compareText)) {
    const source = firstDaily.get(period) as RetentionCandidate;
    const toId = backupId(tier, source.takenAt, database);
    // An object with that id already exists (a copy dated in another period, or a key-safe name
    // shared by two databases): copying would overwrite it, so leave it to a human.
    if (!window.has(period) || takenIds.has(`${tier}/${toId}`) || blockedByUnreadable(toId)) continue;
    takenIds.add(`${tier}/${toId}`);
    out.push({
      fromId: source.id,
      tier,
      period,
      toId,
      reason: `promoted: first valid daily of ${period} (${isoDay(source.takenAt)}), no ${tier} copy yet`,
    });
  }
  return out;
}

/** Throws a ConfigError unless every count is a whole number >= 0. */
export function assertRetentionPolicy(policy: RetentionPolicy): void {
  for (const tier of RETENTION_TIERS) {
    const n = policyCount(policy, tier);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ConfigError(`retention: policy.${tier} must be a whole number >= 0, got ${String(n)}`);
    }
  }
}

/**
 * Refuses two candidates with one tier and id (keeping one and deleting the other deletes both),
 * and a candidate whose series contradicts its scope.
 */
function assertCandidates(backups: readonly RetentionCandidate[]): Set<string> {
  const seen = new Set<string>();
  for (const c of backups) {
    if (Number.isNaN(c.takenAt.getTime())) throw new PgdrillError(`retention: ${c.tier} ${c.id} has an invalid takenAt`);
    if (c.full !== (c.series === FULL_SERIES)) throw new PgdrillError(`retention: ${c.tier} ${c.id} is ${c.full ? 'full' : 'partial'} but in series "${c.series}" (bug)`);
    const key = `${c.tier}/${c.id}`;
    if (seen.has(key)) throw new PgdrillError(`retention: ${c.tier} ${c.id} is listed twice; refusing to plan`);
    seen.add(key);
  }
  return seen;
}

function newestOf(backups: readonly RetentionCandidate[]): RetentionCandidate | undefined {
  let newest: RetentionCandidate | undefined;
  for (const c of backups) if (!newest || compareTime(c, newest) > 0) newest = c;
  return newest;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareTime(a: RetentionCandidate, b: RetentionCandidate): number {
  return a.takenAt.getTime() - b.takenAt.getTime() || compareText(a.id, b.id);
}

function compareCandidates(a: RetentionCandidate, b: RetentionCandidate): number {
  return compareText(a.database, b.database) || TIER_ORDER[a.tier] - TIER_ORDER[b.tier] || compareTime(a, b);
}

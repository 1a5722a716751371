import { defineCheck } from '../src/check/index.ts';
import { retentionCoverage, type TierCoverage } from '../src/retention/index.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** How a gap of each tier is named: `1 month missing (2026-09)`, `2 hours missing (…)`. */
const UNIT: Record<TierCoverage['tier'], [string, string]> = {
  hourly: ['hour', 'hours'],
  daily: ['day', 'days'],
  weekly: ['week', 'weeks'],
  monthly: ['month', 'months'],
  quarterly: ['quarter', 'quarters'],
  yearly: ['year', 'years'],
};

export default defineCheck({
  id: 'retention-coverage',
  title: 'Retention inventory complete (every enabled tier present)',
  description:
    'A copy for every month (and quarter, year, week when enabled) the retention policy covers since the first backup (a gap fails: drill.monthlyGapSeverity), and a backup for each of the last days and hours (drill.dailyGapSeverity).',
  needsDatabase: false,
  pointInTime: "it judges pgdrill's dump catalog, not the pgBackRest repository (pgBackRest's own retention keeps its sets)",
  async run({ manifest, state }) {
    if (state.config.retention.daily === 0 && state.config.retention.monthly === 0) return { status: 'skip', summary: 'not applicable: the retention policy keeps no daily or monthly backups' };
    const backups = state.catalog
      .filter((b) => b.database === manifest.database)
      .map((b) => ({ id: b.id, tier: b.tier, database: b.database, takenAt: new Date(b.startedAt), full: b.full, series: b.series }));
    const now = new Date(state.now);
    const firstBackupAt = state.firstFullBackupAt ? new Date(state.firstFullBackupAt) : undefined;
    const coverage = retentionCoverage({ backups, policy: state.config.retention, now, firstBackupAt, database: manifest.database });
    // A copy tier's current period is promoted from its first backup: until that exists it is
    // pending, like today's daily, not a gap. Hours and days are judged as they are.
    const copyGaps = coverage.tiers
      .filter((t) => t.tier !== 'hourly' && t.tier !== 'daily')
      .map((t) => ({ tier: t.tier, gaps: t.missing.filter((p) => p !== t.slots.at(-1)?.period), pending: t.missing.includes(t.slots.at(-1)?.period ?? '') ? t.slots.at(-1)!.period : undefined }));
    const recentGaps = coverage.tiers.filter((t) => t.tier === 'hourly' || t.tier === 'daily').map((t) => ({ tier: t.tier, gaps: t.missing }));
    const monthGaps = copyGaps.find((t) => t.tier === 'monthly');
    const gapMonths = monthGaps?.gaps ?? [];
    const pending = copyGaps.filter((t) => t.pending !== undefined);
    const { monthlyGapSeverity, dailyGapSeverity } = state.config.drill;
    const otherMissing = Object.fromEntries(coverage.tiers.filter((t) => t.tier !== 'monthly' && t.tier !== 'daily' && t.missing.length > 0).map((t) => [t.tier, t.missing]));
    const currentMonth = monthGaps?.pending;
    const evidence = {
      missingMonths: gapMonths,
      missingDays: coverage.missingDays,
      ...(Object.keys(otherMissing).length > 0 ? { missing: otherMissing } : {}),
      ...(currentMonth ? { currentMonthWithoutBackup: currentMonth } : {}),
      firstBackupAt: firstBackupAt?.toISOString() ?? null,
      policy: state.config.retention,
      severity: { monthlyGap: monthlyGapSeverity, dailyGap: dailyGapSeverity },
    };
    if (coverage.complete) {
      const present = (t: TierCoverage) => t.slots.filter((s) => s.state === 'present').length;
      const slots = coverage.tiers
        .filter((t) => t.tier !== 'daily')
        .map((t) => (t.tier === 'monthly' ? `${present(t)} monthly slot(s)` : plural(present(t), `${t.tier} slot`, `${t.tier} slots`)));
      return { status: 'pass', summary: `${slots.length ? `${slots.join(', ')} present, ` : ''}none missing; last ${coverage.daily.length} days covered`, evidence };
    }
    // The last three of each; days were always named without an ellipsis.
    const describe = (tier: TierCoverage['tier'], periods: readonly string[]) =>
      periods.length ? `${plural(periods.length, UNIT[tier][0], UNIT[tier][1])} missing (${periods.slice(-3).join(', ')}${periods.length > 3 && tier !== 'daily' ? ', …' : ''})` : '';
    const parts = [
      ...copyGaps.map((t) => describe(t.tier, t.gaps)),
      ...pending.map((t) => `no backup yet in the current ${UNIT[t.tier][0]} ${t.pending}`),
      ...recentGaps.map((t) => describe(t.tier, t.gaps)),
    ].filter(Boolean);
    const copyGapFound = copyGaps.some((t) => t.gaps.length > 0);
    const recentGapFound = recentGaps.some((t) => t.gaps.length > 0) || pending.length > 0;
    const fails = (copyGapFound && monthlyGapSeverity === 'fail') || (recentGapFound && dailyGapSeverity === 'fail');
    return { status: fails ? 'fail' : 'warn', summary: parts.join('; '), evidence };
  },
});

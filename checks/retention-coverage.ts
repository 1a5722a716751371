import { defineCheck } from '../src/check/index.ts';
import { retentionCoverage } from '../src/retention/index.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export default defineCheck({
  id: 'retention-coverage',
  title: 'Retention inventory complete (dailies and monthlies present)',
  description:
    'A monthly backup for every month the retention policy covers since the first backup (a gap fails: drill.monthlyGapSeverity), and a daily for each of the last days (drill.dailyGapSeverity).',
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
    // The current month is promoted from its first backup: until that exists it is pending, like today's daily, not a gap.
    const currentMonth = now.toISOString().slice(0, 7);
    const gapMonths = coverage.missingMonths.filter((m) => m !== currentMonth);
    const pendingMonth = coverage.missingMonths.includes(currentMonth);
    const { monthlyGapSeverity, dailyGapSeverity } = state.config.drill;
    const evidence = {
      missingMonths: gapMonths,
      missingDays: coverage.missingDays,
      ...(pendingMonth ? { currentMonthWithoutBackup: currentMonth } : {}),
      firstBackupAt: firstBackupAt?.toISOString() ?? null,
      policy: state.config.retention,
      severity: { monthlyGap: monthlyGapSeverity, dailyGap: dailyGapSeverity },
    };
    if (coverage.complete) {
      const present = coverage.monthly.filter((s) => s.state === 'present').length;
      return { status: 'pass', summary: `${present} monthly slot(s) present, none missing; last ${coverage.daily.length} days covered`, evidence };
    }
    const parts = [
      gapMonths.length ? `${plural(gapMonths.length, 'month', 'months')} missing (${gapMonths.slice(-3).join(', ')}${gapMonths.length > 3 ? ', …' : ''})` : '',
      pendingMonth ? `no backup yet in the current month ${currentMonth}` : '',
      coverage.missingDays.length ? `${plural(coverage.missingDays.length, 'day', 'days')} missing (${coverage.missingDays.slice(-3).join(', ')})` : '',
    ].filter(Boolean);
    const fails = (gapMonths.length > 0 && monthlyGapSeverity === 'fail') || ((coverage.missingDays.length > 0 || pendingMonth) && dailyGapSeverity === 'fail');
    return { status: fails ? 'fail' : 'warn', summary: parts.join('; '), evidence };
  },
});

import { defineCheck } from '../src/check/index.ts';
import { retentionCoverage } from '../src/retention/index.ts';

export default defineCheck({
  id: 'retention-coverage',
  title: 'Retention inventory complete (dailies and monthlies present)',
  description: "A monthly backup for every month the retention policy covers, and a daily for each of the last days.",
  needsDatabase: false,
  async run({ manifest, state }) {
    if (state.config.retention.daily === 0 && state.config.retention.monthly === 0) return { status: 'skip', summary: 'not applicable: the retention policy keeps no daily or monthly backups' };
    const backups = state.catalog
      .filter((b) => b.database === manifest.database)
      .map((b) => ({ id: b.id, tier: b.tier, database: b.database, takenAt: new Date(b.startedAt), full: b.full, series: b.series }));
    const coverage = retentionCoverage({ backups, policy: state.config.retention, now: new Date(state.now), database: manifest.database });
    const evidence = { missingMonths: coverage.missingMonths, missingDays: coverage.missingDays, policy: state.config.retention };
    if (coverage.complete) {
      const present = coverage.monthly.filter((s) => s.state === 'present').length;
      return { status: 'pass', summary: `${present} monthly slot(s) present, none missing; last ${coverage.daily.length} days covered`, evidence };
    }
    const parts = [
      coverage.missingMonths.length ? `${coverage.missingMonths.length} month(s) missing (${coverage.missingMonths.slice(-3).join(', ')})` : '',
      coverage.missingDays.length ? `${coverage.missingDays.length} day(s) missing (${coverage.missingDays.slice(-3).join(', ')})` : '',
    ].filter(Boolean);
    return { status: state.config.drill.retentionSeverity, summary: parts.join('; '), evidence };
  },
});

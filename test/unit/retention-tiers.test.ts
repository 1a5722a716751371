import { describe, expect, it } from 'vitest';
import { backupId, isoDay, isoHour } from '../../src/catalog/index.ts';
import type { BackupTier } from '../../src/catalog/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { loadConfig } from '../../src/config/index.ts';
// The pure modules directly, not the index: it also exports the storage-bound apply step.
import { planRetention } from '../../src/retention/plan.ts';
import type { RetentionCandidate, RetentionPlan, RetentionPolicy } from '../../src/retention/plan.ts';
import { retentionCoverage } from '../../src/retention/coverage.ts';

// Hourly, quarterly and yearly tiers (issue 18 item 5), and the two seeds' policies simulated run
// by run: a backup every hour (seed 003) or every day (seed 001), retention applied after each one
// exactly as `pgdrill backup` does (promotions add copies, deletions remove backups).

const DB = 'registry';

function daily(when: Date, n = 1): RetentionCandidate {
  return { id: backupId('daily', when, DB) + (n > 1 ? `-${n}` : ''), tier: 'daily', database: DB, takenAt: when, full: true, series: 'full' };
}

interface Simulation {
  store: RetentionCandidate[];
  lastPlan: RetentionPlan;
}

/** Backups every `stepHours` from `from` to `to` (inclusive), retention after each one. */
function simulate(policy: RetentionPolicy, from: string, to: string, stepHours: number): Simulation {
  let store: RetentionCandidate[] = [];
  let lastPlan: RetentionPlan = { keep: [], delete: [], promote: [] };
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepHours * 3_600_000) {
    const when = new Date(t);
    // The id a backup gets: the day's id, then -2, -3, … (the first one free, as runBackup picks it).
    let n = 1;
    while (store.some((c) => c.tier === 'daily' && c.id === daily(when, n).id)) n += 1;
    store.push(daily(when, n));
    lastPlan = planRetention({ backups: store, policy, now: when });
    for (const p of lastPlan.promote) {
      const source = store.find((c) => c.tier === 'daily' && c.id === p.fromId)!;
      store.push({ ...source, id: p.toId, tier: p.tier });
    }
    const gone = new Set(lastPlan.delete.map((d) => `${d.tier}/${d.id}`));
    store = store.filter((c) => !gone.has(`${c.tier}/${c.id}`));
  }
  return { store, lastPlan };
}

const ofTier = (store: readonly RetentionCandidate[], tier: BackupTier) =>
  store
    .filter((c) => c.tier === tier)
    .map((c) => c.id)
    .sort();

describe('seed 003: hourly 24, daily 30, quarterly archives', () => {
  const policy: RetentionPolicy = { hourly: 24, daily: 30, weekly: 0, monthly: 0, quarterly: 8, yearly: 0 };
  const { store, lastPlan } = simulate(policy, '2026-03-20T00:00:00Z', '2026-08-10T12:00:00Z', 1);

  it('keeps a backup of each of the last 24 hours', () => {
    const hours = new Set(store.filter((c) => c.tier === 'daily').map((c) => isoHour(c.takenAt)));
    for (let back = 0; back < 24; back++) expect(hours).toContain(isoHour(new Date(Date.parse('2026-08-10T12:00:00Z') - back * 3_600_000)));
    // The 25th hour back only survives as its day's newest backup (23:00 the day before is one).
    expect(hours).not.toContain('2026-08-09T12');
  });

  it('keeps the newest backup of each of the last 30 days and nothing older in daily/', () => {
    const days = [...new Set(store.filter((c) => c.tier === 'daily').map((c) => isoDay(c.takenAt)))].sort();
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2026-07-12');
    // A past day keeps exactly one backup, its newest (23:00, the day's 24th: -24).
    expect(store.filter((c) => c.tier === 'daily' && isoDay(c.takenAt) === '2026-07-20').map((c) => c.id)).toEqual(['2026-07-20-registry-24']);
    // The last 24 hours plus one per older day: 13 of today, 11 of yesterday's last hours (its 23:00 among them), 28 older days.
    expect(store.filter((c) => c.tier === 'daily')).toHaveLength(24 + 28);
  });

  it('promotes the first backup of each quarter to quarterly/ and makes no monthly or weekly copy', () => {
    expect(ofTier(store, 'quarterly')).toEqual(['2026-Q1-registry', '2026-Q2-registry', '2026-Q3-registry']);
    expect(store.find((c) => c.id === '2026-Q2-registry')!.takenAt.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(store.find((c) => c.id === '2026-Q1-registry')!.takenAt.toISOString()).toBe('2026-03-20T00:00:00.000Z');
    expect(ofTier(store, 'monthly')).toEqual([]);
    expect(ofTier(store, 'weekly')).toEqual([]);
  });

  it('gives every kept backup its reasons: hourly, daily, quarterly', () => {
    const reasons = (tier: string, id: string) => lastPlan.keep.find((d) => d.tier === tier && d.id === id)?.reasons;
    expect(reasons('daily', '2026-08-10-registry-13')).toEqual(['kept: daily 2026-08-10', 'kept: hourly 2026-08-10T12', 'kept: newest valid backup']);
    expect(reasons('daily', '2026-08-10-registry-5')).toEqual(['kept: hourly 2026-08-10T04']);
    expect(reasons('daily', '2026-07-12-registry-24')).toEqual(['kept: daily 2026-07-12']);
    expect(reasons('quarterly', '2026-Q1-registry')).toEqual(['kept: quarterly 2026-Q1']);
  });

  it('deletes an hour that left the window with the daily reason', () => {
    // The run at 12:00 pushed 2026-08-09T12 (the day's 13th backup) out of the hourly window.
    expect(lastPlan.delete).toEqual([{ id: '2026-08-09-registry-13', tier: 'daily', database: DB, reasons: ['superseded: a newer backup of 2026-08-09 is kept'] }]);
  });

  it('coverage shows the hourly, daily and quarterly tiers, all present', () => {
    const cov = retentionCoverage({ backups: store, policy, now: new Date('2026-08-10T12:30:00Z'), firstBackupAt: new Date('2026-03-20T00:00:00Z') });
    expect(cov.tiers.map((t) => [t.tier, t.slots.length, t.missing.length])).toEqual([
      ['hourly', 24, 0],
      ['daily', 30, 0],
      ['quarterly', 8, 0],
    ]);
    expect(cov.tiers[2]!.slots.map((s) => s.state).join(',')).toBe('not-due,not-due,not-due,not-due,not-due,present,present,present');
    expect(cov.tiers[0]!.slots.at(-1)).toEqual({ period: '2026-08-10T12', state: 'present' });
    expect(cov.complete).toBe(true);
    expect(cov.monthly).toEqual([]);
  });

  it('coverage names a missing hour and a missing quarter', () => {
    const withoutHour = store.filter((c) => isoHour(c.takenAt) !== '2026-08-10T03');
    const withoutQ2 = withoutHour.filter((c) => c.id !== '2026-Q2-registry');
    const cov = retentionCoverage({ backups: withoutQ2, policy, now: new Date('2026-08-10T12:30:00Z'), firstBackupAt: new Date('2026-03-20T00:00:00Z') });
    expect(cov.tiers.find((t) => t.tier === 'hourly')!.missing).toEqual(['2026-08-10T03']);
    expect(cov.tiers.find((t) => t.tier === 'quarterly')!.missing).toEqual(['2026-Q2']);
    expect(cov.complete).toBe(false);
  });
});

describe('seed 001: daily 7, monthly 84', () => {
  const policy: RetentionPolicy = { daily: 7, weekly: 0, monthly: 84 };
  const { store } = simulate(policy, '2019-01-01T01:00:00Z', '2026-03-05T01:00:00Z', 24);

  it('keeps the last 7 dailies and 84 monthly copies, the oldest 84 months back', () => {
    expect(ofTier(store, 'daily')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05'].map((d) => `${d}-registry`));
    const monthly = ofTier(store, 'monthly');
    expect(monthly).toHaveLength(84);
    expect(monthly[0]).toBe('2019-04-registry');
    expect(monthly.at(-1)).toBe('2026-03-registry');
    expect(store.filter((c) => c.tier !== 'daily' && c.tier !== 'monthly')).toEqual([]);
  });

  it('its coverage has exactly the daily and monthly tiers, complete', () => {
    const cov = retentionCoverage({ backups: store, policy, now: new Date('2026-03-05T03:00:00Z') });
    expect(cov.tiers.map((t) => t.tier)).toEqual(['daily', 'monthly']);
    expect(cov.complete).toBe(true);
  });
});

describe('yearly copies and the hourly window', () => {
  it('promotes the first daily of each year and keeps the last N years', () => {
    const { store } = simulate({ daily: 3, weekly: 0, monthly: 0, yearly: 2 }, '2023-12-28T01:00:00Z', '2025-01-03T01:00:00Z', 24);
    expect(ofTier(store, 'yearly')).toEqual(['2024-registry', '2025-registry']);
    expect(store.find((c) => c.id === '2024-registry')!.takenAt.toISOString()).toBe('2024-01-01T01:00:00.000Z');
  });

  it('an hourly window of 0 changes nothing: the day keeps only its newest backup', () => {
    const { store } = simulate({ hourly: 0, daily: 2, weekly: 0, monthly: 0 }, '2026-11-22T00:00:00Z', '2026-11-23T05:00:00Z', 1);
    // (A superseded backup's id is free again, so the day's ids alternate between -1 and -2.)
    expect(store.map((c) => c.takenAt.toISOString()).sort()).toEqual(['2026-11-22T23:00:00.000Z', '2026-11-23T05:00:00.000Z']);
  });

  it('hourly counts hours with backups, not clock hours (a gap expires nothing)', () => {
    const backups = [daily(new Date('2026-11-23T01:00:00Z')), daily(new Date('2026-11-23T02:00:00Z'), 2), daily(new Date('2026-11-23T09:00:00Z'), 3)];
    const result = planRetention({ backups, policy: { hourly: 3, daily: 1, weekly: 0, monthly: 0 }, now: new Date('2026-11-23T09:30:00Z') });
    expect(result.delete).toEqual([]);
  });

  it('refuses a negative or fractional count of any tier', () => {
    expect(() => planRetention({ backups: [], policy: { hourly: -1, daily: 7, weekly: 0, monthly: 84 }, now: new Date() })).toThrow(ConfigError);
    expect(() => planRetention({ backups: [], policy: { daily: 7, weekly: 0, monthly: 84, quarterly: 1.5 }, now: new Date() })).toThrow(/policy\.quarterly/);
  });

  it('config: hourly true means 24, false 0; quarterly and yearly default to 0', async () => {
    const cfg = (retention: Record<string, unknown>) => loadConfig({ env: {}, cwd: '/nonexistent-pgdrill-cwd', flags: { retention } as never }).then((c) => c.retention);
    expect(await cfg({ hourly: true, daily: 30, monthly: 0, quarterly: 8 })).toEqual({ hourly: 24, daily: 30, weekly: 0, monthly: 0, quarterly: 8, yearly: 0 });
    expect(await cfg({ hourly: false })).toEqual({ hourly: 0, daily: 7, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });
    expect(await cfg({})).toEqual({ hourly: 0, daily: 7, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });
  });
});

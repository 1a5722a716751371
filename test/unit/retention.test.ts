import { describe, expect, it } from 'vitest';
import type { BackupTier } from '../../src/catalog/index.ts';
import { backupId, isoDay, isoMonth, isoWeek } from '../../src/catalog/index.ts';
import { ConfigError, PgdrillError } from '../../src/errors/index.ts';
// The pure modules directly, not the index: it also exports the storage-bound apply step.
import { DEFAULT_RETENTION, planRetention } from '../../src/retention/plan.ts';
import type { RetentionCandidate, RetentionPlan, RetentionPolicy } from '../../src/retention/plan.ts';
import { retentionCoverage } from '../../src/retention/coverage.ts';

const DB = 'app_db';

/**
 * A candidate whose id follows the key layout: backupId(tier, takenAt, db) plus an optional `-N`.
 * Full unless `partial` names its series (as backupSeries derives it from a manifest).
 */
function bk(tier: BackupTier, when: string, opts: { db?: string; n?: number; partial?: string } = {}): RetentionCandidate {
  const takenAt = new Date(when);
  const database = opts.db ?? DB;
  const scope = opts.partial === undefined ? { full: true, series: 'full' } : { full: false, series: opts.partial };
  return { id: backupId(tier, takenAt, database) + (opts.n ? `-${opts.n}` : ''), tier, database, takenAt, ...scope };
}

/** One daily at 01:00 UTC (the 02:00 WAT schedule) on each of `count` consecutive days. */
function dailies(firstDay: string, count: number, opts: { db?: string } = {}): RetentionCandidate[] {
  const start = new Date(`${firstDay}T01:00:00Z`).getTime();
  return Array.from({ length: count }, (_, i) => bk('daily', new Date(start + i * 86_400_000).toISOString(), opts));
}

/** A plan as readable golden lines: `tier id | reason | reason`, `tier period from -> to`. */
function golden(plan: RetentionPlan): { keep: string[]; delete: string[]; promote: string[] } {
  const line = (d: { tier: string; id: string; reasons: string[] }): string => [`${d.tier} ${d.id}`, ...d.reasons].join(' | ');
  return {
    keep: plan.keep.map(line),
    delete: plan.delete.map(line),
    promote: plan.promote.map((p) => `${p.tier} ${p.period} ${p.fromId} -> ${p.toId}`),
  };
}

const plan = (backups: RetentionCandidate[], now: string, policy: RetentionPolicy = DEFAULT_RETENTION): RetentionPlan =>
  planRetention({ backups, policy, now: new Date(now) });

describe('planRetention: daily tier', () => {
  it('keeps the newest 7 of 10 days with backups and expires the rest', () => {
    const backups = [...dailies('2026-11-14', 10), bk('monthly', '2026-10-01T01:00:00Z'), bk('monthly', '2026-11-01T01:00:00Z')];
    expect(golden(plan(backups, '2026-11-23T03:00:00Z'))).toEqual({
      keep: [
        'daily 2026-11-17-app_db | kept: daily 2026-11-17',
        'daily 2026-11-18-app_db | kept: daily 2026-11-18',
        'daily 2026-11-19-app_db | kept: daily 2026-11-19',
        'daily 2026-11-20-app_db | kept: daily 2026-11-20',
        'daily 2026-11-21-app_db | kept: daily 2026-11-21',
        'daily 2026-11-22-app_db | kept: daily 2026-11-22',
        'daily 2026-11-23-app_db | kept: daily 2026-11-23 | kept: newest valid backup',
        'monthly 2026-10-app_db | kept: monthly 2026-10',
        'monthly 2026-11-app_db | kept: monthly 2026-11',
      ],
      delete: [
        'daily 2026-11-14-app_db | expired: daily 2026-11-14 beyond the last 7 days with backups',
        'daily 2026-11-15-app_db | expired: daily 2026-11-15 beyond the last 7 days with backups',
        'daily 2026-11-16-app_db | expired: daily 2026-11-16 beyond the last 7 days with backups',
      ],
      promote: [],
    });
  });

  it('counts days that have backups, not calendar days (a gap does not expire anything)', () => {
    const backups = [...dailies('2026-11-01', 3), bk('monthly', '2026-11-01T01:00:00Z')];
    const result = plan(backups, '2026-11-23T03:00:00Z');
    expect(result.delete).toEqual([]);
    expect(result.keep.map((d) => d.id)).toEqual(['2026-11-01-app_db', '2026-11-02-app_db', '2026-11-03-app_db', '2026-11-app_db']);
  });

  it('keeps the newer of two backups on one day; the older is superseded', () => {
    const backups = [bk('daily', '2026-11-23T01:00:00Z'), bk('daily', '2026-11-23T13:00:00Z', { n: 2 }), bk('monthly', '2026-11-01T01:00:00Z')];
    expect(golden(plan(backups, '2026-11-23T15:00:00Z'))).toEqual({
      keep: ['daily 2026-11-23-app_db-2 | kept: daily 2026-11-23 | kept: newest valid backup', 'monthly 2026-11-app_db | kept: monthly 2026-11'],
      delete: ['daily 2026-11-23-app_db | superseded: a newer backup of 2026-11-23 is kept'],
      promote: [],
    });
  });
});

describe('planRetention: UTC boundaries', () => {
  it('month boundary Jan 31 -> Feb 1: promotes Feb 1, a backup at 23:59:59.999Z on Jan 31 stays January', () => {
    const backups = [
      ...dailies('2027-01-27', 4),
      bk('daily', '2027-01-31T23:59:59.999Z'),
      ...dailies('2027-02-01', 3),
      bk('monthly', '2027-01-01T01:00:00Z'),
    ];
    expect(golden(plan(backups, '2027-02-03T02:00:00Z'))).toEqual({
      keep: [
        'daily 2027-01-28-app_db | kept: daily 2027-01-28',
        'daily 2027-01-29-app_db | kept: daily 2027-01-29',
        'daily 2027-01-30-app_db | kept: daily 2027-01-30',
        'daily 2027-01-31-app_db | kept: daily 2027-01-31',
        'daily 2027-02-01-app_db | kept: daily 2027-02-01 | kept: source of monthly promotion 2027-02',
        'daily 2027-02-02-app_db | kept: daily 2027-02-02',
        'daily 2027-02-03-app_db | kept: daily 2027-02-03 | kept: newest valid backup',
        'monthly 2027-01-app_db | kept: monthly 2027-01',
      ],
      delete: ['daily 2027-01-27-app_db | expired: daily 2027-01-27 beyond the last 7 days with backups'],
      promote: ['monthly 2027-02 2027-02-01-app_db -> 2027-02-app_db'],
    });
  });

  it('year boundary: 23:30 WAT and 00:30 WAT (Jan 1) are both Dec 31 in UTC; UTC decides', () => {
    const lateWat = bk('daily', '2026-12-31T23:30:00+01:00'); // 22:30 UTC Dec 31
    const afterMidnightWat = bk('daily', '2027-01-01T00:30:00+01:00', { n: 2 }); // 23:30 UTC Dec 31
    expect(isoDay(lateWat.takenAt)).toBe('2026-12-31');
    expect(isoDay(afterMidnightWat.takenAt)).toBe('2026-12-31');
    expect(isoMonth(afterMidnightWat.takenAt)).toBe('2026-12');
    const backups = [bk('monthly', '2026-12-01T01:00:00Z'), bk('daily', '2026-12-30T01:00:00Z'), lateWat, afterMidnightWat, bk('daily', '2027-01-01T01:00:00Z')];
    expect(golden(plan(backups, '2027-01-01T03:00:00Z'))).toEqual({
      keep: [
        'daily 2026-12-30-app_db | kept: daily 2026-12-30',
        'daily 2026-12-31-app_db-2 | kept: daily 2026-12-31',
        'daily 2027-01-01-app_db | kept: daily 2027-01-01 | kept: source of monthly promotion 2027-01 | kept: newest valid backup',
        'monthly 2026-12-app_db | kept: monthly 2026-12',
      ],
      delete: ['daily 2026-12-31-app_db | superseded: a newer backup of 2026-12-31 is kept'],
      promote: ['monthly 2027-01 2027-01-01-app_db -> 2027-01-app_db'],
    });
  });

  it('ISO-week year boundary: 2026-12-31 and 2027-01-01 are both 2026-W53; weeklies promoted and windowed', () => {
    expect(isoWeek(new Date('2026-12-31T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2027-01-03T23:59:59Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2027-01-04T00:00:00Z'))).toBe('2027-W01');
    const backups = [
      ...['2026-11-30', '2026-12-07', '2026-12-14', '2026-12-21'].map((d) => bk('weekly', `${d}T01:00:00Z`)),
      bk('monthly', '2026-12-01T01:00:00Z'),
      ...dailies('2026-12-27', 9),
    ];
    expect(backups.filter((c) => c.tier === 'weekly').map((c) => c.id)).toEqual(['2026-W49-app_db', '2026-W50-app_db', '2026-W51-app_db', '2026-W52-app_db']);
    expect(golden(plan(backups, '2027-01-04T03:00:00Z', { daily: 7, weekly: 4, monthly: 84 }))).toEqual({
      keep: [
        'daily 2026-12-28-app_db | kept: source of weekly promotion 2026-W53',
        'daily 2026-12-29-app_db | kept: daily 2026-12-29',
        'daily 2026-12-30-app_db | kept: daily 2026-12-30',
        'daily 2026-12-31-app_db | kept: daily 2026-12-31',
        'daily 2027-01-01-app_db | kept: daily 2027-01-01 | kept: source of monthly promotion 2027-01',
        'daily 2027-01-02-app_db | kept: daily 2027-01-02',
        'daily 2027-01-03-app_db | kept: daily 2027-01-03',
        'daily 2027-01-04-app_db | kept: daily 2027-01-04 | kept: source of weekly promotion 2027-W01 | kept: newest valid backup',
        // W49 and W50 fall out of the 4-week window only once this run's copies exist: next run.
        'weekly 2026-W49-app_db | kept: weekly 2026-W49',
        'weekly 2026-W50-app_db | kept: weekly 2026-W50',
        'weekly 2026-W51-app_db | kept: weekly 2026-W51',
        'weekly 2026-W52-app_db | kept: weekly 2026-W52',
        'monthly 2026-12-app_db | kept: monthly 2026-12',
      ],
      delete: ['daily 2026-12-27-app_db | expired: daily 2026-12-27 beyond the last 7 days with backups'],
      promote: [
        'weekly 2026-W53 2026-12-28-app_db -> 2026-W53-app_db',
        'weekly 2027-W01 2027-01-04-app_db -> 2027-W01-app_db',
        'monthly 2027-01 2027-01-01-app_db -> 2027-01-app_db',
      ],
    });
  });

  it('leap day: 2028-02-29 is a day of its own in the window', () => {
    const backups = [...dailies('2028-02-27', 5), bk('monthly', '2028-02-01T01:00:00Z')];
    expect(backups.map((c) => c.id).slice(0, 5)).toContain('2028-02-29-app_db');
    expect(golden(plan(backups, '2028-03-02T03:00:00Z', { daily: 3, weekly: 0, monthly: 84 }))).toEqual({
      keep: [
        'daily 2028-02-29-app_db | kept: daily 2028-02-29',
        'daily 2028-03-01-app_db | kept: daily 2028-03-01 | kept: source of monthly promotion 2028-03',
        'daily 2028-03-02-app_db | kept: daily 2028-03-02 | kept: newest valid backup',
        'monthly 2028-02-app_db | kept: monthly 2028-02',
      ],
      delete: [
        'daily 2028-02-27-app_db | expired: daily 2028-02-27 beyond the last 3 days with backups',
        'daily 2028-02-28-app_db | expired: daily 2028-02-28 beyond the last 3 days with backups',
      ],
      promote: ['monthly 2028-03 2028-03-01-app_db -> 2028-03-app_db'],
    });
  });
});

describe('planRetention: monthly promotion and window', () => {
  it('promotes the first valid daily of the month (the 1st failed) and keeps it although it expired', () => {
    const backups = [
      bk('monthly', '2026-10-01T01:00:00Z'),
      bk('daily', '2026-10-30T01:00:00Z'),
      bk('daily', '2026-10-31T01:00:00Z'),
      // No valid backup on 2026-11-01 (it failed, or its manifest is unreadable and not planned).
      bk('daily', '2026-11-02T01:00:00Z'),
      bk('daily', '2026-11-02T13:00:00Z', { n: 2 }),
      ...dailies('2026-11-16', 8),
    ];
    const result = plan(backups, '2026-11-23T03:00:00Z');
    expect(golden(result)).toEqual({
      keep: [
        'daily 2026-11-02-app_db | kept: source of monthly promotion 2026-11',
        'daily 2026-11-17-app_db | kept: daily 2026-11-17',
        'daily 2026-11-18-app_db | kept: daily 2026-11-18',
        'daily 2026-11-19-app_db | kept: daily 2026-11-19',
        'daily 2026-11-20-app_db | kept: daily 2026-11-20',
        'daily 2026-11-21-app_db | kept: daily 2026-11-21',
        'daily 2026-11-22-app_db | kept: daily 2026-11-22',
        'daily 2026-11-23-app_db | kept: daily 2026-11-23 | kept: newest valid backup',
        'monthly 2026-10-app_db | kept: monthly 2026-10',
      ],
      delete: [
        'daily 2026-10-30-app_db | expired: daily 2026-10-30 beyond the last 7 days with backups',
        'daily 2026-10-31-app_db | expired: daily 2026-10-31 beyond the last 7 days with backups',
        'daily 2026-11-02-app_db-2 | expired: daily 2026-11-02 beyond the last 7 days with backups',
        'daily 2026-11-16-app_db | expired: daily 2026-11-16 beyond the last 7 days with backups',
      ],
      promote: ['monthly 2026-11 2026-11-02-app_db -> 2026-11-app_db'],
    });
    expect(result.promote[0]).toEqual({
      fromId: '2026-11-02-app_db',
      tier: 'monthly',
      period: '2026-11',
      toId: '2026-11-app_db',
      reason: 'promoted: first valid daily of 2026-11 (2026-11-02), no monthly copy yet',
    });
  });

  it('does not promote when the month already has a monthly copy, readable or not', () => {
    const days = dailies('2026-11-20', 4);
    const now = new Date('2026-11-23T03:00:00Z');
    expect(plan([...days, bk('monthly', '2026-11-01T01:00:00Z')], now.toISOString()).promote).toEqual([]);
    // An unreadable manifest under the copy's id, or under a same-month `-2`, is left for a human.
    expect(planRetention({ backups: days, unreadable: [{ tier: 'monthly', id: '2026-11-app_db' }], policy: DEFAULT_RETENTION, now }).promote).toEqual([]);
    expect(planRetention({ backups: days, unreadable: [{ tier: 'monthly', id: '2026-11-app_db-2' }], policy: DEFAULT_RETENTION, now }).promote).toEqual([]);
    // Not by another database's (`2026-11-app_db-archive`) or another tier's.
    const others = [
      { tier: 'monthly' as const, id: '2026-11-app_db-archive' },
      { tier: 'daily' as const, id: '2026-11-01-app_db' },
    ];
    expect(planRetention({ backups: days, unreadable: others, policy: DEFAULT_RETENTION, now }).promote.map((p) => p.fromId)).toEqual(['2026-11-20-app_db']);
    // Control: without any copy the same dailies do promote.
    expect(plan(days, now.toISOString()).promote.map((p) => p.fromId)).toEqual(['2026-11-20-app_db']);
  });

  it('does not promote onto an id that already exists (a copy whose startedAt is in another month)', () => {
    const misdated: RetentionCandidate = { ...bk('monthly', '2026-10-31T23:00:00Z'), id: '2026-11-app_db' };
    const result = plan([misdated, ...dailies('2026-11-20', 4)], '2026-11-23T03:00:00Z');
    expect(result.promote).toEqual([]);
    expect(result.keep.map((d) => d.id)).toContain('2026-11-app_db');
  });

  it('keeps 84 months: the copy from 85 months ago is deleted; the next one goes after the new copy exists', () => {
    const copies = Array.from({ length: 85 }, (_, i) => bk('monthly', new Date(Date.UTC(2019, 9 + i, 1, 1)).toISOString()));
    expect(copies[0]?.id).toBe('2019-10-app_db');
    expect(copies[84]?.id).toBe('2026-10-app_db');
    const days = dailies('2026-11-01', 5);

    const first = plan([...copies, ...days], '2026-11-05T03:00:00Z');
    expect(golden(first).delete).toEqual(['monthly 2019-10-app_db | expired: monthly 2019-10 beyond the last 84 months with backups']);
    expect(first.keep.filter((d) => d.tier === 'monthly')).toHaveLength(84);
    expect(first.keep.find((d) => d.id === '2019-11-app_db')?.reasons).toEqual(['kept: monthly 2019-11']);
    expect(golden(first).promote).toEqual(['monthly 2026-11 2026-11-01-app_db -> 2026-11-app_db']);

    // Next run: the promotion happened and 2019-10 is gone, so 2019-11 is now the 85th month.
    const next = plan([...copies.slice(1), bk('monthly', '2026-11-01T01:00:00Z'), ...days], '2026-11-06T03:00:00Z');
    expect(golden(next).delete).toEqual(['monthly 2019-11-app_db | expired: monthly 2019-11 beyond the last 84 months with backups']);
    expect(next.promote).toEqual([]);
  });

  it('does not promote a month that would fall outside the monthly window', () => {
    const copies = [bk('monthly', '2026-10-01T01:00:00Z'), bk('monthly', '2026-11-01T01:00:00Z')];
    const result = plan([...copies, bk('daily', '2026-09-15T01:00:00Z'), ...dailies('2026-11-20', 2)], '2026-11-23T03:00:00Z', { daily: 7, weekly: 0, monthly: 2 });
    expect(result.promote).toEqual([]);
    // Inside the window it would: with room for 3 months September is promoted.
    expect(plan([...copies, bk('daily', '2026-09-15T01:00:00Z')], '2026-11-23T03:00:00Z', { daily: 7, weekly: 0, monthly: 3 }).promote.map((p) => p.period)).toEqual(['2026-09']);
  });

  it('deletes every weekly copy when weekly = 0 and promotes none', () => {
    const backups = [bk('weekly', '2026-11-09T01:00:00Z'), bk('weekly', '2026-11-16T01:00:00Z'), ...dailies('2026-11-20', 4), bk('monthly', '2026-11-01T01:00:00Z')];
    const result = plan(backups, '2026-11-23T03:00:00Z');
    expect(golden(result).delete).toEqual([
      'weekly 2026-W46-app_db | expired: weekly 2026-W46, weekly retention is 0',
      'weekly 2026-W47-app_db | expired: weekly 2026-W47, weekly retention is 0',
    ]);
    expect(result.promote).toEqual([]);
  });
});

describe('planRetention: safety', () => {
  const none: RetentionPolicy = { daily: 0, weekly: 0, monthly: 0 };

  it('never deletes the newest valid backup, even with a policy of 0', () => {
    const backups = [...dailies('2026-11-20', 4), bk('monthly', '2026-11-01T01:00:00Z')];
    expect(golden(plan(backups, '2026-11-23T03:00:00Z', none))).toEqual({
      keep: ['daily 2026-11-23-app_db | kept: newest valid backup'],
      delete: [
        'daily 2026-11-20-app_db | expired: daily 2026-11-20, daily retention is 0',
        'daily 2026-11-21-app_db | expired: daily 2026-11-21, daily retention is 0',
        'daily 2026-11-22-app_db | expired: daily 2026-11-22, daily retention is 0',
        'monthly 2026-11-app_db | expired: monthly 2026-11, monthly retention is 0',
      ],
      promote: [],
    });
  });

  it('keeps future-dated backups out of the windows and never deletes them', () => {
    const backups = [
      ...dailies('2026-11-21', 3),
      bk('daily', '2026-11-23T05:00:00Z', { n: 2 }),
      bk('daily', '2027-05-01T01:00:00Z'),
      bk('monthly', '2026-11-01T01:00:00Z'),
    ];
    expect(golden(plan(backups, '2026-11-23T03:00:00Z', { daily: 2, weekly: 0, monthly: 84 }))).toEqual({
      keep: [
        'daily 2026-11-22-app_db | kept: daily 2026-11-22',
        'daily 2026-11-23-app_db | kept: daily 2026-11-23 | kept: newest valid backup',
        'daily 2026-11-23-app_db-2 | kept: dated in the future (clock skew?)',
        'daily 2027-05-01-app_db | kept: dated in the future (clock skew?)',
        'monthly 2026-11-app_db | kept: monthly 2026-11',
      ],
      delete: ['daily 2026-11-21-app_db | expired: daily 2026-11-21 beyond the last 2 days with backups'],
      promote: [],
    });
  });

  it('plans each database independently', () => {
    const backups = [
      ...dailies('2026-10-01', 2, { db: 'crm db' }),
      ...dailies('2026-11-14', 10),
      bk('monthly', '2026-11-01T01:00:00Z'),
    ];
    const result = plan(backups, '2026-11-23T03:00:00Z');
    expect(golden(result).keep.filter((l) => l.includes('crm_db'))).toEqual([
      'daily 2026-10-01-crm_db | kept: daily 2026-10-01 | kept: source of monthly promotion 2026-10',
      'daily 2026-10-02-crm_db | kept: daily 2026-10-02 | kept: newest valid backup',
    ]);
    expect(result.delete.map((d) => d.id)).toEqual(['2026-11-14-app_db', '2026-11-15-app_db', '2026-11-16-app_db']);
    expect(result.promote).toEqual([
      {
        fromId: '2026-10-01-crm_db',
        tier: 'monthly',
        period: '2026-10',
        toId: '2026-10-crm_db',
        reason: 'promoted: first valid daily of 2026-10 (2026-10-01), no monthly copy yet',
      },
    ]);
    expect(result.keep.every((d, i, all) => i === 0 || (all[i - 1] as { database: string }).database <= d.database)).toBe(true);
    expect(result.keep.find((d) => d.id === '2026-10-02-crm_db')?.database).toBe('crm db');
  });

  it('puts every backup in exactly one list, deterministically, whatever the input order', () => {
    // Three years of daily backups with gaps, some partial ones, two databases, plus copies.
    let seed = 42;
    const rand = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const backups: RetentionCandidate[] = [];
    for (const db of ['app_db', 'audit']) {
      for (let day = 0; day < 3 * 365; day++) {
        if (rand() < 0.15) continue;
        const when = new Date(Date.UTC(2024, 0, 1 + day, 1));
        backups.push(bk('daily', when.toISOString(), { db }));
        if (rand() < 0.2) backups.push(bk('daily', new Date(when.getTime() + 3_600_000).toISOString(), { db, n: 2, partial: rand() < 0.5 ? 'partial: schema-only' : 'partial: tables public.users' }));
        if (when.getUTCDate() === 1 && rand() < 0.8) backups.push(bk('monthly', when.toISOString(), { db }));
      }
    }
    const now = '2026-12-31T03:00:00Z';
    const policy = { daily: 7, weekly: 4, monthly: 84 };
    const a = plan(backups, now, policy);
    const shuffled = [...backups].sort(() => rand() - 0.5);
    expect(plan(shuffled, now, policy)).toEqual(a);

    const ids = [...a.keep, ...a.delete].map((d) => `${d.tier}/${d.id}`);
    expect(new Set(ids).size).toBe(backups.length);
    expect(ids.sort()).toEqual(backups.map((c) => `${c.tier}/${c.id}`).sort());
    expect(a.keep.every((d) => d.reasons.length > 0 && d.reasons.every((r) => r.startsWith('kept: ')))).toBe(true);
    expect(a.delete.every((d) => d.reasons.length === 1 && /^(expired|superseded): /.test(d.reasons[0] ?? ''))).toBe(true);
    const kept = new Set(a.keep.map((d) => d.id));
    expect(a.promote.every((p) => kept.has(p.fromId))).toBe(true);
    const full = new Set(backups.filter((c) => c.full).map((c) => c.id));
    expect(a.promote.every((p) => full.has(p.fromId))).toBe(true);
    for (const db of ['app_db', 'audit']) {
      const newestFull = backups.filter((c) => c.database === db && c.full).sort((x, y) => x.takenAt.getTime() - y.takenAt.getTime()).at(-1);
      expect(a.keep.find((d) => d.id === newestFull?.id && d.tier === newestFull.tier)?.reasons).toContain('kept: newest valid backup');
    }
  });

  it('refuses duplicate ids and invalid policies', () => {
    const one = bk('daily', '2026-11-23T01:00:00Z');
    expect(() => plan([one, { ...one }], '2026-11-23T03:00:00Z')).toThrow(PgdrillError);
    // A full candidate outside the full series (or the reverse) would escape the safety rule.
    expect(() => plan([{ ...one, series: 'partial: schema-only' }], '2026-11-23T03:00:00Z')).toThrow(/is full but in series "partial: schema-only"/);
    expect(() => plan([{ ...one, full: false }], '2026-11-23T03:00:00Z')).toThrow(/is partial but in series "full"/);
    expect(() => plan([one], '2026-11-23T03:00:00Z', { daily: -1, weekly: 0, monthly: 84 })).toThrow(ConfigError);
    expect(() => plan([one], '2026-11-23T03:00:00Z', { daily: 7, weekly: 0, monthly: 1.5 })).toThrow(ConfigError);
  });

  it('exports the 7 / 0 / 84 defaults', () => {
    expect(DEFAULT_RETENTION).toEqual({ hourly: 0, daily: 7, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });
  });
});

describe('planRetention: partial backups are their own series (issue 11 item 1)', () => {
  const SCHEMA_ONLY = 'partial: schema-only';
  const TABLES = 'partial: tables public.lgas,public.users';
  const EXCLUDE = 'partial: exclude-table public.audit_logs';

  it.each([
    ['--schema-only', SCHEMA_ONLY],
    ['--tables', TABLES],
    ['--exclude-table', EXCLUDE],
  ])('full, full, then a %s backup on one day: the newer full is kept, the partial is kept in its own series', (_flag, series) => {
    const backups = [
      bk('monthly', '2026-11-01T01:00:00Z'),
      bk('daily', '2026-11-23T01:00:00Z'),
      bk('daily', '2026-11-23T13:00:00Z', { n: 2 }),
      bk('daily', '2026-11-23T14:00:00Z', { n: 3, partial: series }),
    ];
    expect(golden(plan(backups, '2026-11-23T15:00:00Z'))).toEqual({
      keep: [
        'daily 2026-11-23-app_db-2 | kept: daily 2026-11-23 | kept: newest valid backup',
        `daily 2026-11-23-app_db-3 | kept: daily 2026-11-23 (${series}) | kept: newest valid backup (${series})`,
        'monthly 2026-11-app_db | kept: monthly 2026-11',
      ],
      delete: ['daily 2026-11-23-app_db | superseded: a newer backup of 2026-11-23 is kept'],
      promote: [],
    });
  });

  it('two partial series and the full one on one day: each keeps its own newest, supersedes only its own', () => {
    const backups = [
      bk('monthly', '2026-11-01T01:00:00Z'),
      bk('daily', '2026-11-23T01:00:00Z'),
      bk('daily', '2026-11-23T02:00:00Z', { n: 2, partial: SCHEMA_ONLY }),
      bk('daily', '2026-11-23T03:00:00Z', { n: 3, partial: TABLES }),
      bk('daily', '2026-11-23T04:00:00Z', { n: 4, partial: SCHEMA_ONLY }),
    ];
    expect(golden(plan(backups, '2026-11-23T15:00:00Z'))).toEqual({
      keep: [
        'daily 2026-11-23-app_db | kept: daily 2026-11-23 | kept: newest valid backup',
        `daily 2026-11-23-app_db-3 | kept: daily 2026-11-23 (${TABLES}) | kept: newest valid backup (${TABLES})`,
        `daily 2026-11-23-app_db-4 | kept: daily 2026-11-23 (${SCHEMA_ONLY}) | kept: newest valid backup (${SCHEMA_ONLY})`,
        'monthly 2026-11-app_db | kept: monthly 2026-11',
      ],
      delete: [`daily 2026-11-23-app_db-2 | superseded: a newer backup of 2026-11-23 (${SCHEMA_ONLY}) is kept`],
      promote: [],
    });
  });

  it('days with only partial backups do not push full dailies out of the daily window', () => {
    const partials = ['2026-11-21', '2026-11-22', '2026-11-23'].map((d) => bk('daily', `${d}T02:00:00Z`, { n: 2, partial: SCHEMA_ONLY }));
    const backups = [bk('monthly', '2026-11-01T01:00:00Z'), ...dailies('2026-11-14', 7), ...partials];
    const result = plan(backups, '2026-11-23T15:00:00Z');
    expect(result.delete).toEqual([]);
    expect(golden(result).keep.filter((l) => !l.includes('partial'))).toEqual([
      'daily 2026-11-14-app_db | kept: daily 2026-11-14',
      'daily 2026-11-15-app_db | kept: daily 2026-11-15',
      'daily 2026-11-16-app_db | kept: daily 2026-11-16',
      'daily 2026-11-17-app_db | kept: daily 2026-11-17',
      'daily 2026-11-18-app_db | kept: daily 2026-11-18',
      'daily 2026-11-19-app_db | kept: daily 2026-11-19',
      'daily 2026-11-20-app_db | kept: daily 2026-11-20 | kept: newest valid backup',
      'monthly 2026-11-app_db | kept: monthly 2026-11',
    ]);
    // And the other way round: the partial series has its own window of 7 days with backups.
    const manyPartials = dailies('2026-11-10', 10).map((c) => ({ ...c, full: false, series: SCHEMA_ONLY }));
    expect(golden(plan([...manyPartials, ...dailies('2026-11-23', 1), bk('monthly', '2026-11-01T01:00:00Z')], '2026-11-23T15:00:00Z')).delete).toEqual([
      `daily 2026-11-10-app_db | expired: daily 2026-11-10 (${SCHEMA_ONLY}) beyond the last 7 days with backups`,
      `daily 2026-11-11-app_db | expired: daily 2026-11-11 (${SCHEMA_ONLY}) beyond the last 7 days with backups`,
      `daily 2026-11-12-app_db | expired: daily 2026-11-12 (${SCHEMA_ONLY}) beyond the last 7 days with backups`,
    ]);
  });

  it('promotes only full dailies: a month whose first backup is partial gets its first full one', () => {
    const backups = [
      bk('monthly', '2026-11-01T01:00:00Z'),
      bk('daily', '2026-12-01T01:00:00Z', { partial: SCHEMA_ONLY }),
      bk('daily', '2026-12-01T02:00:00Z', { n: 2, partial: TABLES }),
      bk('daily', '2026-12-02T01:00:00Z'),
      bk('daily', '2026-12-03T01:00:00Z'),
    ];
    expect(golden(plan(backups, '2026-12-03T03:00:00Z', { daily: 7, weekly: 4, monthly: 84 })).promote).toEqual([
      'weekly 2026-W49 2026-12-02-app_db -> 2026-W49-app_db',
      'monthly 2026-12 2026-12-02-app_db -> 2026-12-app_db',
    ]);
    // A database with partial backups only gets no copy at all.
    const onlyPartial = [bk('daily', '2026-12-01T01:00:00Z', { db: 'crm', partial: SCHEMA_ONLY }), bk('daily', '2026-12-02T01:00:00Z', { db: 'crm', partial: TABLES })];
    expect(plan(onlyPartial, '2026-12-03T03:00:00Z', { daily: 7, weekly: 4, monthly: 84 }).promote).toEqual([]);
  });

  it('never deletes the newest full backup, even when a partial one is newer and the policy is 0', () => {
    const none: RetentionPolicy = { daily: 0, weekly: 0, monthly: 0 };
    const backups = [bk('monthly', '2026-11-01T01:00:00Z'), bk('daily', '2026-11-22T01:00:00Z'), bk('daily', '2026-11-23T01:00:00Z', { partial: SCHEMA_ONLY })];
    expect(golden(plan(backups, '2026-11-23T03:00:00Z', none))).toEqual({
      keep: [
        'daily 2026-11-22-app_db | kept: newest valid backup',
        `daily 2026-11-23-app_db | kept: newest valid backup (${SCHEMA_ONLY})`,
      ],
      delete: ['monthly 2026-11-app_db | expired: monthly 2026-11, monthly retention is 0'],
      promote: [],
    });
    // The newest full backup may be a monthly copy: it is kept whatever its tier.
    const copyOnly = [bk('monthly', '2026-11-01T01:00:00Z'), bk('daily', '2026-11-23T01:00:00Z', { partial: SCHEMA_ONLY })];
    expect(golden(plan(copyOnly, '2026-11-23T03:00:00Z', none)).keep).toEqual([
      `daily 2026-11-23-app_db | kept: newest valid backup (${SCHEMA_ONLY})`,
      'monthly 2026-11-app_db | kept: newest valid backup',
    ]);
  });

  it('a partial monthly copy (promoted before this fix) neither fills a month nor pushes a full copy out', () => {
    const backups = [
      bk('monthly', '2026-09-01T01:00:00Z'),
      bk('monthly', '2026-10-01T01:00:00Z'),
      bk('monthly', '2026-11-01T01:00:00Z', { partial: SCHEMA_ONLY }),
      ...dailies('2026-11-22', 2),
    ];
    expect(golden(plan(backups, '2026-11-23T15:00:00Z', { daily: 7, weekly: 0, monthly: 2 }))).toEqual({
      keep: [
        'daily 2026-11-22-app_db | kept: daily 2026-11-22',
        'daily 2026-11-23-app_db | kept: daily 2026-11-23 | kept: newest valid backup',
        'monthly 2026-09-app_db | kept: monthly 2026-09',
        'monthly 2026-10-app_db | kept: monthly 2026-10',
        `monthly 2026-11-app_db | kept: monthly 2026-11 (${SCHEMA_ONLY}) | kept: newest valid backup (${SCHEMA_ONLY})`,
      ],
      delete: [],
      // November wants a full copy, but its id is taken by the partial copy: left for a human
      // (coverage reports the month missing).
      promote: [],
    });
  });
});

describe('retentionCoverage', () => {
  // First backup 2024-03-15; monthly copies every month through 2027-01 except a summer 2025 gap
  // and 2026-01 (its copy is unreadable, so not a backup); dailies 2027-02-01..10 except the 7th.
  function history(): RetentionCandidate[] {
    const out: RetentionCandidate[] = [bk('daily', '2024-03-15T01:00:00Z')];
    for (let i = 0; i < 35; i++) {
      const when = new Date(Date.UTC(2024, 2 + i, i === 0 ? 15 : 1, 1));
      const month = isoMonth(when);
      if (['2025-06', '2025-07', '2025-08', '2026-01'].includes(month)) continue;
      out.push(bk('monthly', when.toISOString()));
    }
    for (const d of dailies('2027-02-01', 10)) if (isoDay(d.takenAt) !== '2027-02-07') out.push(d);
    out.push(bk('daily', '2025-07-10T01:00:00Z')); // a daily alone does not cover a past month
    return out;
  }

  it('marks months before the first backup not-due, gaps and invalid copies missing, the rest present (oldest first)', () => {
    const cov = retentionCoverage({ backups: history(), policy: DEFAULT_RETENTION, now: new Date('2027-02-10T12:00:00Z') });
    expect(cov.monthly).toHaveLength(84);
    expect(cov.monthly[0]).toEqual({ month: '2020-03', state: 'not-due' });
    expect(cov.monthly[83]).toEqual({ month: '2027-02', state: 'present' }); // no copy yet, but valid dailies
    const byState = (s: string): string[] => cov.monthly.filter((m) => m.state === s).map((m) => m.month);
    expect(byState('not-due')).toHaveLength(48);
    expect(byState('not-due').at(-1)).toBe('2024-02');
    expect(byState('present')[0]).toBe('2024-03');
    expect(cov.missingMonths).toEqual(['2025-06', '2025-07', '2025-08', '2026-01']);
    expect(byState('present')).toHaveLength(84 - 48 - 4);
    expect(cov.daily).toEqual([
      { day: '2027-02-04', state: 'present' },
      { day: '2027-02-05', state: 'present' },
      { day: '2027-02-06', state: 'present' },
      { day: '2027-02-07', state: 'missing' },
      { day: '2027-02-08', state: 'present' },
      { day: '2027-02-09', state: 'present' },
      { day: '2027-02-10', state: 'present' },
    ]);
    expect(cov.missingDays).toEqual(['2027-02-07']);
    expect(cov.complete).toBe(false);
  });

  it('uses firstBackupAt when given: earlier months become due and missing', () => {
    const cov = retentionCoverage({ backups: history(), policy: DEFAULT_RETENTION, now: new Date('2027-02-10T12:00:00Z'), firstBackupAt: new Date('2023-12-20T01:00:00Z') });
    expect(cov.missingMonths).toEqual(['2023-12', '2024-01', '2024-02', '2025-06', '2025-07', '2025-08', '2026-01']);
  });

  it('decides days in UTC and counts the current month only once it has a backup', () => {
    const backups = [
      bk('monthly', '2027-02-01T01:00:00Z'),
      ...dailies('2027-02-22', 6),
      bk('daily', '2027-02-28T00:30:00+01:00'), // 23:30 UTC on Feb 27
    ];
    const beforeBackup = retentionCoverage({ backups, policy: { daily: 3, weekly: 0, monthly: 2 }, now: new Date('2027-03-01T00:30:00Z') });
    expect(beforeBackup.monthly).toEqual([
      { month: '2027-02', state: 'present' },
      { month: '2027-03', state: 'missing' },
    ]);
    expect(beforeBackup.daily).toEqual([
      { day: '2027-02-27', state: 'present' },
      { day: '2027-02-28', state: 'missing' },
      { day: '2027-03-01', state: 'missing' },
    ]);
    const after = retentionCoverage({
      backups: [...backups, bk('daily', '2027-02-28T01:00:00Z'), bk('daily', '2027-03-01T01:00:00Z')],
      policy: { daily: 3, weekly: 0, monthly: 2 },
      now: new Date('2027-03-01T03:00:00Z'),
    });
    expect(after.complete).toBe(true);
    expect(after.monthly.map((m) => m.state)).toEqual(['present', 'present']);
  });

  it('with no backups at all only the current month and today are due (and missing)', () => {
    const cov = retentionCoverage({ backups: [], policy: DEFAULT_RETENTION, now: new Date('2027-02-10T12:00:00Z') });
    expect(cov.missingMonths).toEqual(['2027-02']);
    expect(cov.missingDays).toEqual(['2027-02-10']);
    expect(cov.monthly.filter((m) => m.state === 'not-due')).toHaveLength(83);
    expect(cov.complete).toBe(false);
  });

  it('is per database: refuses mixed databases unless one is named', () => {
    const backups = [bk('daily', '2027-02-10T01:00:00Z'), bk('daily', '2027-02-10T01:00:00Z', { db: 'audit' })];
    const input = { backups, policy: { daily: 1, weekly: 0, monthly: 1 }, now: new Date('2027-02-10T12:00:00Z') };
    expect(() => retentionCoverage(input)).toThrow(PgdrillError);
    expect(retentionCoverage({ ...input, database: 'audit' }).complete).toBe(true);
    expect(retentionCoverage({ ...input, database: 'other' }).complete).toBe(false);
  });

  it('counts only full backups: a day, a past month or the current month with only partial backups is missing', () => {
    const policy = { daily: 3, weekly: 0, monthly: 3 };
    const backups = [
      bk('monthly', '2027-01-01T01:00:00Z'),
      bk('monthly', '2027-02-01T01:00:00Z', { partial: 'partial: schema-only' }),
      bk('daily', '2027-03-01T01:00:00Z'),
      bk('daily', '2027-03-02T01:00:00Z', { partial: 'partial: schema-only' }),
      bk('daily', '2027-03-03T01:00:00Z', { partial: 'partial: tables public.users' }),
    ];
    const cov = retentionCoverage({ backups, policy, now: new Date('2027-03-03T12:00:00Z') });
    expect(cov.monthly).toEqual([
      { month: '2027-01', state: 'present' },
      { month: '2027-02', state: 'missing' },
      { month: '2027-03', state: 'present' },
    ]);
    expect(cov.missingDays).toEqual(['2027-03-02', '2027-03-03']);
    const nextMonth = retentionCoverage({
      backups: [bk('monthly', '2027-03-01T01:00:00Z'), bk('daily', '2027-04-01T01:00:00Z', { partial: 'partial: schema-only' })],
      policy,
      now: new Date('2027-04-01T12:00:00Z'),
    });
    expect(nextMonth.missingMonths).toEqual(['2027-04']);
    expect(nextMonth.missingDays).toEqual(['2027-03-30', '2027-03-31', '2027-04-01']);
  });
});

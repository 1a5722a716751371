// Pure parts of the admin API: tokens, backup ids, deletion rules, retention expiry, the audit chain.
import { describe, expect, it } from 'vitest';
import { chainProblems, createApiToken, type StoredAuditRecord } from '../../src/api/index.ts';
import { deletionRefusal, parseBackupRef } from '../../src/api/history.ts';
import { findToken, parseTokenEntries } from '../../src/api/tokens.ts';
import { planRetention, retentionExpiries, expiryKey, DEFAULT_RETENTION } from '../../src/retention/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { testManifest } from '../helpers/manifest.ts';

describe('API tokens', () => {
  it('a new token is shown once; its entry holds only its SHA-256 and matches it, and nothing else', () => {
    const { token, entry } = createApiToken('ops', 'admin');
    expect(token).toMatch(/^pgdrill_[\w-]{43}$/);
    expect(entry).toMatch(/^ops:admin:[0-9a-f]{64}$/);
    expect(entry).not.toContain(token.slice(8));
    const entries = parseTokenEntries([entry, createApiToken('auditor', 'viewer').entry]);
    expect(findToken(entries, token)).toMatchObject({ name: 'ops', role: 'admin' });
    expect(findToken(entries, `${token}x`)).toBeUndefined();
    expect(() => parseTokenEntries([entry, entry])).toThrow('lists the token name "ops" twice');
    expect(() => createApiToken('a:b', 'admin')).toThrow(/is not valid/);
  });

  it('the configuration accepts only well-formed entries and masks them when it complains', async () => {
    const bad = 'ops:root:1234';
    await expect(loadConfig({ env: { PGDRILL_API_TOKENS: bad }, cwd: '/' })).rejects.toThrow(/service\.api\.tokens\.0: expected name:admin\|viewer:<64 hex>/);
    await expect(loadConfig({ env: { PGDRILL_API_TOKENS: bad }, cwd: '/' })).rejects.not.toThrow(/1234/);
    const ok = await loadConfig({ env: { PGDRILL_API_TOKENS: `${createApiToken('a', 'admin').entry}, ${createApiToken('b', 'viewer').entry}` }, cwd: '/' });
    expect(ok.service.api.tokens).toHaveLength(2);
  });
});

describe('backup ids', () => {
  it('parses {database}:{tier}:{id} and refuses anything that could name another key (400)', () => {
    expect(parseBackupRef('oslrs:daily:2026-11-23-oslrs')).toEqual({ database: 'oslrs', tier: 'daily', id: '2026-11-23-oslrs' });
    expect(parseBackupRef('a.b:monthly:2026-11-a.b-2')).toEqual({ database: 'a.b', tier: 'monthly', id: '2026-11-a.b-2' });
    for (const bad of ['oslrs:daily:..', 'oslrs:daily:.', 'oslrs:daily:../x', 'oslrs:daily:a/b', 'oslrs:hourly:x', 'oslrs:daily:', ':daily:x', 'oslrs:daily:x\0', 'x'.repeat(400)]) {
      expect(() => parseBackupRef(bad), bad).toThrow(/is not a backup id/);
    }
  });
});

describe('deletion rules', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const entry = (tier: 'daily' | 'monthly', finishedAt: string) => ({ manifestKey: 'k', manifest: testManifest({ tier, finishedAt, startedAt: finishedAt }) });
  it('refuses a backup younger than 24 h and the newest valid one whatever force says, a monthly inside retention unless forced', () => {
    expect(deletionRefusal(entry('daily', '2026-12-07T02:00:00Z'), ['kept: daily 2026-12-07'], now, 24)).toEqual({
      reason: 'it is 10 h 0 min old: a backup younger than 24 h is never deleted here',
      forceable: false,
    });
    expect(deletionRefusal(entry('daily', '2026-12-01T02:00:00Z'), ['kept: daily 2026-12-01', 'kept: newest valid backup'], now, 24)).toMatchObject({ forceable: false, reason: expect.stringMatching(/^it is the newest valid full backup of /) });
    expect(deletionRefusal(entry('monthly', '2026-10-01T02:00:00Z'), ['kept: monthly 2026-10'], now, 24)).toMatchObject({ forceable: true });
    expect(deletionRefusal(entry('daily', '2026-12-01T02:00:00Z'), ['kept: daily 2026-12-01'], now, 24)).toBeUndefined();
  });
});

describe('retention expiry', () => {
  it('says when and why each backup goes: next prune, the window projected, never for the newest', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    const backups: Array<{ id: string; tier: 'daily' | 'monthly'; database: string; takenAt: Date; full: boolean; series: string }> = ['2026-11-20', '2026-11-21', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06'].map((day) => ({
      id: `${day}-db`,
      tier: 'daily' as const,
      database: 'db',
      takenAt: new Date(`${day}T01:00:00Z`),
      full: true,
      series: 'full',
    }));
    backups.push({ id: '2026-11-db', tier: 'monthly' as const, database: 'db', takenAt: new Date('2026-11-20T01:00:00Z'), full: true, series: 'full' });
    const plan = planRetention({ backups, policy: DEFAULT_RETENTION, now });
    const expiries = retentionExpiries(plan, backups, DEFAULT_RETENTION, now);
    const of = (tier: 'daily' | 'monthly', id: string) => expiries.get(expiryKey({ tier, id, database: 'db' }));
    expect(of('daily', '2026-11-21-db')).toMatchObject({ at: now.toISOString(), reason: expect.stringMatching(/^deleted by the next prune: expired: daily 2026-11-21 beyond the last 7 days/) });
    // 5 newer days have backups: 2 more days of backups push it out.
    expect(of('daily', '2026-12-01-db')).toEqual({
      at: '2026-12-09T00:00:00.000Z',
      reason: 'daily retention keeps the last 7 day(s) with backups; 5 newer day(s) have one: deleted by the first prune from 2026-12-09 if backups go on as scheduled',
    });
    expect(of('daily', '2026-12-06-db')).toMatchObject({ at: null, reason: expect.stringContaining('kept: newest valid backup') });
    expect(of('monthly', '2026-11-db')).toMatchObject({ at: '2033-12-01T00:00:00.000Z' });
  });

  it('a daily kept only by the hourly window goes with that window, counted in hours; one kept by both windows goes with the later', () => {
    const now = new Date('2026-12-07T12:30:00Z');
    const policy = { ...DEFAULT_RETENTION, hourly: 24, daily: 7 };
    const daily = (id: string, at: string) => ({ id, tier: 'daily' as const, database: 'db', takenAt: new Date(at), full: true, series: 'full' });
    // 2026-12-07 at 10:00, 11:00 and 12:00 (same-day ones numbered -2, -3), and the day before at 23:00.
    // One dated in the future (clock skew) is in no window: it makes no hour "newer".
    const backups = [daily('2026-12-06-db', '2026-12-06T23:00:00Z'), daily('2026-12-07-db', '2026-12-07T10:00:00Z'), daily('2026-12-07-db-2', '2026-12-07T11:00:00Z'), daily('2026-12-07-db-3', '2026-12-07T12:00:00Z'), daily('2026-12-09-db', '2026-12-09T05:00:00Z')];
    const plan = planRetention({ backups, policy, now });
    const expiries = retentionExpiries(plan, backups, policy, now);
    const of = (id: string) => expiries.get(expiryKey({ tier: 'daily', id, database: 'db' }));
    // 10:00 is not its day's newest: only the hourly window keeps it, and 2 newer hours have backups.
    expect(plan.keep.find((d) => d.id === '2026-12-07-db')?.reasons).toEqual(['kept: hourly 2026-12-07T10']);
    expect(of('2026-12-07-db')).toEqual({
      at: '2026-12-08T10:00:00.000Z',
      reason: 'the hourly window keeps the last 24 hour(s) with backups; 2 newer hour(s) have one: deleted by the first prune from 2026-12-08T10:00 UTC if a backup is taken every hour (later when they are further apart)',
    });
    expect(of('2026-12-07-db-2')).toMatchObject({ at: '2026-12-08T11:00:00.000Z' });
    // The day before's backup is kept by both windows: the daily one (6 more days) is the later.
    expect(of('2026-12-06-db')).toMatchObject({ at: '2026-12-13T00:00:00.000Z', reason: expect.stringMatching(/^daily retention keeps the last 7 day\(s\) with backups; 1 newer day\(s\)/) });
    // A long hourly window and a short daily one: the hourly date is the later (3 newer hours: 197 more).
    const wide = { ...DEFAULT_RETENTION, hourly: 200, daily: 2 };
    expect(retentionExpiries(planRetention({ backups, policy: wide, now }), backups, wide, now).get(expiryKey({ tier: 'daily', id: '2026-12-06-db', database: 'db' }))).toMatchObject({ at: '2026-12-15T17:00:00.000Z', reason: expect.stringMatching(/^the hourly window keeps the last 200 hour/) });
    // With a window of 2 hours, 10:00 already falls out: the next prune deletes it.
    const narrow = { ...policy, hourly: 2 };
    expect(retentionExpiries(planRetention({ backups, policy: narrow, now }), backups, narrow, now).get(expiryKey({ tier: 'daily', id: '2026-12-07-db', database: 'db' }))).toMatchObject({ at: now.toISOString(), reason: expect.stringMatching(/^deleted by the next prune/) });
  });
});

describe('audit chain', () => {
  const record = (seq: number, sha256: string, previousSha256: string | null): StoredAuditRecord => ({
    key: `backups/audit/2026-12/${String(seq).padStart(10, '0')}.json`,
    sha256,
    record: { formatVersion: 1, seq, at: '2026-12-07T10:00:00.000Z', actor: 'ops', role: 'admin', action: 'backup.trigger', outcome: 'ok', target: 'db', detail: null, client: null, previousSha256 },
  });
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  it('an intact chain has no problem; a changed, missing or headless record is named', () => {
    expect(chainProblems([record(1, a, null), record(2, b, a), record(3, c, b)], true)).toEqual([]);
    expect(chainProblems([record(1, a, null), record(2, b, c)], true)).toEqual([expect.stringContaining('record 1 (backups/audit/2026-12/0000000001.json) was changed after record 2 was written')]);
    expect(chainProblems([record(1, a, null), record(3, c, b)], true)).toEqual([expect.stringContaining('records 2…2 are missing')]);
    expect(chainProblems([record(2, b, a), record(3, c, b)], true)).toEqual([expect.stringContaining('does not start the chain')]);
    expect(chainProblems([record(2, b, a), record(3, c, b)], false)).toEqual([]);
  });
});

// Issue 12 items 1, 2 and 4, the pure parts: which archives a drill verifies, the ledger's keys,
// the gap severities, the extension comparison, and the checks that judge them.
import { describe, expect, it } from 'vitest';
import archiveVerificationCheck from '../../checks/archive-verification.ts';
import extensionsCheck from '../../checks/extensions.ts';
import retentionCoverageCheck from '../../checks/retention-coverage.ts';
import {
  addMonths,
  archiveIdentity,
  backupSeries,
  parseVerificationRecordKey,
  planArchiveVerification,
  verificationRecordKey,
  type BackupManifest,
  type CatalogEntry,
  type LastVerification,
} from '../../src/catalog/index.ts';
import type { ArchiveVerificationOutcome, CheckContext, DrillState } from '../../src/check/index.ts';
import { PgdrillConfig } from '../../src/config/index.ts';
import { compareExtensions } from '../../src/inspect/index.ts';
import { testManifest } from '../helpers/manifest.ts';

const entry = (id: string, tier: BackupManifest['tier'], startedAt: string, sha = 'a'.repeat(64)): CatalogEntry => {
  const manifest = testManifest({ id, tier, startedAt, finishedAt: startedAt });
  manifest.objects.dump = { ...manifest.objects.dump, key: `backups/${tier}/${id}.dump.zst.enc`, sha256: sha };
  return { manifest, manifestKey: `backups/manifests/${tier}/${id}.json` };
};
const verifiedAt = (e: CatalogEntry, at: string, ok = true): [string, LastVerification] => {
  const m = e.manifest;
  const result: LastVerification = {
    tier: m.tier,
    id: m.id,
    database: m.database,
    manifestKey: e.manifestKey,
    dumpSha256: m.objects.dump.sha256,
    takenAt: m.startedAt,
    full: true,
    method: 'verify',
    ok,
    durationMs: 1,
    verifiedAt: at,
  };
  return [archiveIdentity(result), result];
};
const chosen = (plan: ReturnType<typeof planArchiveVerification>) => plan.selected.map((s) => `${s.entry.manifest.id}: ${s.reason}`);

describe('planArchiveVerification', () => {
  const a = entry('2026-01-app_db', 'monthly', '2026-01-01T01:00:00.000Z');
  const b = entry('2026-02-app_db', 'monthly', '2026-02-01T01:00:00.000Z');
  const c = entry('2026-03-app_db', 'monthly', '2026-03-01T01:00:00.000Z');
  const d = entry('2026-03-20-app_db', 'daily', '2026-03-20T01:00:00.000Z');
  const nextDrillAt = new Date('2026-04-20T00:00:00.000Z');
  const none = new Set<string>();

  it('chooses every never-verified archive (oldest first), then ceil(N / reverifyMonths) least recently verified', () => {
    const last = new Map([verifiedAt(a, '2026-03-01T00:00:00.000Z'), verifiedAt(b, '2026-02-01T00:00:00.000Z')]);
    const plan = planArchiveVerification({ archives: [a, b, c, d], last, reverifyMonths: 12, nextDrillAt, verifiedByThisDrill: none });
    expect(plan.quota).toBe(1);
    expect(chosen(plan)).toEqual(['2026-03-app_db: never verified', '2026-03-20-app_db: never verified', '2026-02-app_db: least recently verified']);
    // Two months: ceil(4 / 2) = 2 of the verified ones.
    expect(chosen(planArchiveVerification({ archives: [a, b, c, d], last, reverifyMonths: 2, nextDrillAt, verifiedByThisDrill: none })).slice(2)).toEqual([
      '2026-02-app_db: due',
      '2026-01-app_db: least recently verified',
    ]);
  });

  it('re-verifies first an archive whose last verification failed, and one whose dump changed since', () => {
    const replaced = entry(c.manifest.id, 'monthly', c.manifest.startedAt, 'c'.repeat(64));
    const last = new Map([verifiedAt(a, '2026-03-01T00:00:00.000Z', false), verifiedAt(b, '2026-03-01T00:00:00.000Z'), verifiedAt(c, '2026-03-01T00:00:00.000Z')]);
    const plan = planArchiveVerification({ archives: [a, b, replaced], last, reverifyMonths: 12, nextDrillAt, verifiedByThisDrill: none });
    expect(chosen(plan)).toEqual(['2026-01-app_db: last verification failed', '2026-03-app_db: never verified', '2026-02-app_db: least recently verified']);
  });

  it('every archive whose verification would be older than reverifyMonths by the next drill is due, beyond the quota', () => {
    const last = new Map([verifiedAt(a, '2025-04-10T00:00:00.000Z'), verifiedAt(b, '2025-04-19T00:00:00.000Z'), verifiedAt(c, '2025-04-21T00:00:00.000Z'), verifiedAt(d, '2026-03-20T00:00:00.000Z')]);
    const plan = planArchiveVerification({ archives: [a, b, c, d], last, reverifyMonths: 12, nextDrillAt, verifiedByThisDrill: none });
    expect(chosen(plan)).toEqual(['2026-01-app_db: due', '2026-02-app_db: due']);
  });

  it('skips what this drill verified by restoring it', () => {
    const plan = planArchiveVerification({ archives: [a, b], last: new Map(), reverifyMonths: 12, nextDrillAt, verifiedByThisDrill: new Set([verifiedAt(a, '')[0]]) });
    expect(chosen(plan)).toEqual(['2026-02-app_db: never verified']);
  });
});

describe('verification ledger keys and months', () => {
  it('builds and parses {prefix}/verifications/{YYYY-MM}/{drillId}.json', () => {
    const key = verificationRecordKey('backups', 'drill-20261015T030000Z-app_db', new Date('2026-10-15T03:00:00Z'));
    expect(key).toBe('backups/verifications/2026-10/drill-20261015T030000Z-app_db.json');
    expect(parseVerificationRecordKey('backups', key)).toEqual({ month: '2026-10', drillId: 'drill-20261015T030000Z-app_db' });
    for (const other of ['backups/drills/2026-10/x.json', 'backups/verifications/2026-10/x.txt', 'backups/verifications/x.json', 'backups/verifications/2026-10/a/b.json']) {
      expect(parseVerificationRecordKey('backups', other)).toBeUndefined();
    }
  });

  it('adds calendar months in UTC, clamping the day', () => {
    expect(addMonths(new Date('2026-01-31T05:00:00Z'), 1).toISOString()).toBe('2026-02-28T05:00:00.000Z');
    expect(addMonths(new Date('2026-10-15T03:00:00Z'), -12).toISOString()).toBe('2025-10-15T03:00:00.000Z');
  });
});

describe('gap severities in the configuration', () => {
  it('fails a monthly gap and warns on a daily one by default; retentionSeverity is a deprecated alias for both', () => {
    expect(PgdrillConfig.parse({}).drill).toMatchObject({ monthlyGapSeverity: 'fail', dailyGapSeverity: 'warn', reverifyMonths: 12 });
    expect(PgdrillConfig.parse({ drill: { retentionSeverity: 'warn' } }).drill).toMatchObject({ monthlyGapSeverity: 'warn', dailyGapSeverity: 'warn' });
    expect(PgdrillConfig.parse({ drill: { retentionSeverity: 'fail', dailyGapSeverity: 'warn' } }).drill).toMatchObject({ monthlyGapSeverity: 'fail', dailyGapSeverity: 'warn' });
    expect(PgdrillConfig.parse({ drill: { retentionSeverity: 'warn' } }).drill).not.toHaveProperty('retentionSeverity');
    expect(PgdrillConfig.safeParse({ drill: { reverifyMonths: 0 } }).success).toBe(false);
  });
});

/** A drill state with only what these checks read. */
function context(over: Partial<DrillState>, manifest: BackupManifest = testManifest(), retention: Record<string, number> = { daily: 3, weekly: 0, monthly: 4 }): CheckContext {
  const config = PgdrillConfig.parse({ retention, ...(over.config ? { drill: over.config.drill } : {}) });
  const state = {
    now: '2026-10-15T03:00:00.000Z',
    catalog: [],
    firstFullBackupAt: null,
    extensions: null,
    archiveVerification: null,
    ...over,
    config: { drill: config.drill, retention: config.retention, auditChain: null },
  } as unknown as DrillState;
  return { db: undefined as never, manifest, state };
}
const item = (id: string, tier: BackupManifest['tier'], startedAt: string) => {
  const m = testManifest({ id, tier, startedAt, finishedAt: startedAt });
  return { id, tier, database: m.database, startedAt, finishedAt: startedAt, ...backupSeries(m) };
};

describe('retention-coverage check', () => {
  const history = [
    item('2026-07-app_db', 'monthly', '2026-07-01T02:00:00.000Z'),
    item('2026-09-app_db', 'monthly', '2026-09-01T02:00:00.000Z'),
    item('2026-10-app_db', 'monthly', '2026-10-01T02:00:00.000Z'),
    item('2026-10-13-app_db', 'daily', '2026-10-13T02:00:00.000Z'),
    item('2026-10-15-app_db', 'daily', '2026-10-15T02:00:00.000Z'),
  ];

  it('a missing monthly after the first backup fails by default, naming the month; missing days alone warn', async () => {
    expect(await retentionCoverageCheck.run(context({ catalog: history }))).toMatchObject({ status: 'fail', summary: '1 month missing (2026-08); 1 day missing (2026-10-14)' });
    const noGap = history.filter((b) => b.id !== '2026-07-app_db');
    expect(await retentionCoverageCheck.run(context({ catalog: noGap }))).toMatchObject({ status: 'warn', summary: '1 day missing (2026-10-14)' });
  });

  it('the severities are configurable', async () => {
    const drill = PgdrillConfig.parse({ drill: { monthlyGapSeverity: 'warn', dailyGapSeverity: 'fail' } }).drill;
    const withConfig = (catalog: typeof history) => context({ catalog, config: { drill } as DrillState['config'] });
    expect((await retentionCoverageCheck.run(withConfig(history))).status).toBe('fail');
    const everyDay = [...history, item('2026-10-14-app_db', 'daily', '2026-10-14T02:00:00.000Z')];
    expect(await retentionCoverageCheck.run(withConfig(everyDay))).toMatchObject({ status: 'warn', summary: '1 month missing (2026-08)' });
  });

  it('an earlier first backup (remembered by the ledger) makes the months after it due; the current month is pending until its first backup', async () => {
    const noJuly = history.filter((b) => b.id !== '2026-07-app_db');
    expect(await retentionCoverageCheck.run(context({ catalog: noJuly, firstFullBackupAt: '2026-07-01T02:00:00.000Z' }))).toMatchObject({
      status: 'fail',
      summary: '2 months missing (2026-07, 2026-08); 1 day missing (2026-10-14)',
    });
    const november = context({ catalog: noJuly.slice(0, 2), now: '2026-11-01T00:30:00.000Z' });
    expect(await retentionCoverageCheck.run(november)).toMatchObject({ status: 'warn', summary: 'no backup yet in the current month 2026-11; 3 days missing (2026-10-30, 2026-10-31, 2026-11-01)' });
  });
});

describe('retention-coverage check with hourly and quarterly tiers (seed 003)', () => {
  const seed003 = { hourly: 3, daily: 2, weekly: 0, monthly: 0, quarterly: 2 };
  const catalog = [
    item('2026-10-14-app_db', 'daily', '2026-10-14T23:00:00.000Z'),
    item('2026-10-15-app_db', 'daily', '2026-10-15T01:00:00.000Z'),
    item('2026-10-15-app_db-2', 'daily', '2026-10-15T03:00:00.000Z'),
  ];
  const at = { now: '2026-10-15T03:30:00.000Z', firstFullBackupAt: '2026-07-01T00:00:00.000Z' };

  it('a quarter without its copy fails (archive gap), a missing hour warns', async () => {
    expect(await retentionCoverageCheck.run(context({ catalog, ...at }, undefined, seed003))).toMatchObject({
      status: 'fail',
      summary: '1 quarter missing (2026-Q3); 1 hour missing (2026-10-15T02)',
      evidence: { missing: { hourly: ['2026-10-15T02'], quarterly: ['2026-Q3'] }, missingMonths: [] },
    });
    const withQ3 = [item('2026-Q3-app_db', 'quarterly', '2026-07-01T00:00:00.000Z'), ...catalog];
    expect(await retentionCoverageCheck.run(context({ catalog: withQ3, ...at }, undefined, seed003))).toMatchObject({ status: 'warn', summary: '1 hour missing (2026-10-15T02)' });
    const everyHour = [...withQ3, item('2026-10-15-app_db-3', 'daily', '2026-10-15T02:00:00.000Z')];
    expect(await retentionCoverageCheck.run(context({ catalog: everyHour, ...at }, undefined, seed003))).toMatchObject({
      status: 'pass',
      summary: '3 hourly slots, 2 quarterly slots present, none missing; last 2 days covered',
    });
  });
});

describe('archive-verification check', () => {
  const outcome = (over: Partial<ArchiveVerificationOutcome> = {}): ArchiveVerificationOutcome => ({
    reverifyMonths: 12,
    archives: [
      { id: '2026-09-app_db', tier: 'monthly', takenAt: '2026-09-01T02:00:00.000Z', verifiedAt: '2026-03-10T03:00:00.000Z', ok: true, method: 'verify' },
      { id: '2026-10-15-app_db', tier: 'daily', takenAt: '2026-10-15T02:00:00.000Z', verifiedAt: '2026-10-15T03:00:00.000Z', ok: true, method: 'restore', thisDrill: 'restored by this drill' },
    ],
    verifiedWithin: 2,
    oldestVerifiedAt: '2026-03-10T03:00:00.000Z',
    pass: { archives: 1, bytes: 50_000_000, durationMs: 2_000 },
    quota: 1,
    ledgerKey: 'backups/verifications/2026-10/drill-x.json',
    unreadableRecords: [],
    ...over,
  });

  it('passes with "N of N retained archives verified within 12 months; oldest verification" and the throughput', async () => {
    const result = await archiveVerificationCheck.run(context({ archiveVerification: outcome() }));
    expect(result).toMatchObject({ status: 'pass', summary: '2 of 2 retained archives verified within 12 months; oldest verification 2026-03-10' });
    expect(result.evidence).toMatchObject({ pass: { throughputMBps: 25 } });
  });

  it('fails naming an archive that failed verification, or when the pass did not complete', async () => {
    const failed = outcome({ verifiedWithin: 1, oldestVerifiedAt: '2026-10-15T03:00:00.000Z' });
    failed.archives[0] = { ...failed.archives[0]!, verifiedAt: '2026-10-15T03:00:00.000Z', ok: false, errorKind: 'CryptoError CHUNK_AUTH_FAILED' };
    expect(await archiveVerificationCheck.run(context({ archiveVerification: failed }))).toMatchObject({
      status: 'fail',
      summary: '1 retained archive(s) FAILED verification: monthly 2026-09-app_db (CryptoError CHUNK_AUTH_FAILED 2026-10-15); 1 of 2 retained archives verified within 12 months; oldest verification 2026-10-15',
    });
    expect(await archiveVerificationCheck.run(context({ archiveVerification: outcome({ error: 'Listing backups/verifications/ failed' }) }))).toMatchObject({
      status: 'fail',
      summary: 'archive verification did not complete: Listing backups/verifications/ failed',
    });
  });
});

describe('extensions', () => {
  const required = [
    { name: 'pgcrypto', version: '1.3', schema: 'public' },
    { name: 'postgis', version: '3.4.2', schema: 'public' },
    { name: 'plpgsql', version: '1.0', schema: 'pg_catalog' },
  ];

  it('compareExtensions: missing by name; the version the target would install (installed, else default) differing is a warning', () => {
    const comparison = compareExtensions(required, [
      { name: 'pgcrypto', defaultVersion: '1.4', installedVersion: null },
      { name: 'plpgsql', defaultVersion: '1.1', installedVersion: '1.0' },
    ]);
    expect(comparison.missing).toEqual([required[1]]);
    expect(comparison.versionDifferences).toEqual([{ name: 'pgcrypto', source: '1.3', target: '1.4' }]);
  });

  it('the check fails on a missing one, warns on another version, skips an older manifest', async () => {
    const manifest = testManifest({ extensions: required });
    const missing = compareExtensions(required, [{ name: 'pgcrypto', defaultVersion: '1.3', installedVersion: null }]);
    expect(await extensionsCheck.run(context({ extensions: missing }, manifest))).toMatchObject({
      status: 'fail',
      summary: 'missing in the sandbox: postgis 3.4.2 (schema public), plpgsql 1.0 (schema pg_catalog)',
    });
    const older = compareExtensions(required.slice(0, 1), [{ name: 'pgcrypto', defaultVersion: '1.4', installedVersion: null }]);
    expect(await extensionsCheck.run(context({ extensions: older }, testManifest({ extensions: required.slice(0, 1) })))).toMatchObject({
      status: 'warn',
      summary: '1 extension(s) available in the sandbox (pgcrypto); other version: pgcrypto 1.3 in the backup, 1.4 in the sandbox',
    });
    expect((await extensionsCheck.run(context({}, testManifest()))).status).toBe('skip');
  });
});

// The evidence verdict (issue 10 item 9): buildEvidence turns the drill's state and its checks'
// records into the evidence record, judged here on hand-built states (no sandbox, no storage).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CatalogItem, DrillState } from '../../src/check/index.ts';
import { PgdrillConfig } from '../../src/config/index.ts';
import { buildEvidence, type CheckRecord } from '../../src/drill/build-evidence.ts';
import { TEST_SHA, testManifest } from '../helpers/manifest.ts';
import { DrillEvidence, parseEvidence } from '../../src/evidence/schema.ts';
import type { StoredDrillRecord } from '../../src/evidence/ledger.ts';

const SHA = TEST_SHA;
const OTHER_SHA = 'd'.repeat(64);

const manifest = testManifest({
  scope: 'full',
  tables: [
    { schema: 'public', name: 'users', rows: 42 },
    { schema: 'public', name: 'orders', rows: 7 },
  ],
});

const item = (id: string, tier: CatalogItem['tier'], startedAt: string, full = true, database = 'app_db'): CatalogItem => ({
  id,
  tier,
  database,
  startedAt,
  finishedAt: startedAt,
  full,
  series: full ? 'full' : 'partial: schema-only',
});

// The config's own retention (84 months) is not what the grid uses: the drill's state carries the policy.
const config = PgdrillConfig.parse({ report: { rtoTargetMinutes: 60 }, drill: { intervalDays: 30 } });

/** A drill two days after the backup that restored, counted rows and took 4.5 minutes end to end. */
function drillState(over: Partial<DrillState> = {}): DrillState {
  return {
    drillId: 'drill-20261125T010000Z-app_db',
    startedAt: '2026-11-25T01:00:00.000Z',
    now: '2026-11-25T01:00:00.000Z',
    catalog: [
      // A partial monthly copy covers nothing: 2026-09 stays missing rather than not yet due.
      item('2026-09-app_db', 'monthly', '2026-09-01T01:00:00.000Z', false),
      item('2026-10-app_db', 'monthly', '2026-10-01T01:00:00.000Z'),
      item('2026-11-23-app_db', 'daily', '2026-11-23T01:00:00.000Z'),
      item('2026-11-24-app_db', 'daily', '2026-11-24T01:00:00.000Z', false),
      // Another database's backup covers nothing of app_db.
      item('2026-11-25-other_db', 'daily', '2026-11-25T00:30:00.000Z', true, 'other_db'),
    ],
    invalidManifests: [],
    manifest,
    verified: { storedSha256: SHA, plaintextSha256: SHA },
    restore: { ok: true },
    sandbox: { kind: 'embedded', description: '/usr/lib/postgresql/15/bin', serverVersion: '15.18', uri: 'postgres://pgdrill:sandbox-pw@127.0.0.1:40000/app_db' },
    timings: { downloadMs: 60_000, decryptMs: 30_000, restoreMs: 150_000, countMs: 6_000 },
    timeline: [{ step: 'restored', at: '2026-11-25T01:04:00.000Z' }],
    olderBackup: null,
    recordCounts: {
      status: 'pass',
      summary: '2 tables, 49 rows: every count matches',
      tolerance: 0,
      tables: [
        { schema: 'public', name: 'users', expected: 42, actual: 42 },
        { schema: 'public', name: 'orders', expected: 7, actual: 7 },
      ],
    },
    extensions: null,
    archiveVerification: null,
    firstFullBackupAt: null,
    config: { drill: config.drill, retention: { hourly: 0, daily: 3, weekly: 0, monthly: 3, quarterly: 0, yearly: 0 }, auditChain: null },
    ...over,
  };
}

const check = (id: string, title: string, status: CheckRecord['status']): CheckRecord => ({
  id,
  title,
  description: `${title}.`,
  builtIn: true,
  status,
  durationMs: 10,
  summary: status,
  ...(status === 'fail' || status === 'warn' ? { failure: `${title}: ${status}` } : {}),
});
const passing = [check('record-counts', 'Record counts match', 'pass'), check('retention', 'Retention coverage', 'warn'), check('audit-chain', 'Audit chain intact', 'skip')];

function evidence(over: { state?: Partial<DrillState>; checks?: CheckRecord[]; unhandledErrors?: string[]; checksMs?: number; history?: StoredDrillRecord[] } = {}) {
  return buildEvidence({
    state: drillState(over.state),
    checks: over.checks ?? passing,
    checksMs: over.checksMs ?? 24_000,
    finishedAt: new Date('2026-11-25T01:05:00.000Z'),
    config,
    history: over.history ?? [],
    unhandledErrors: over.unhandledErrors ?? [],
  });
}

const restoreFailed: Partial<DrillState> = {
  restore: { ok: false, failedStage: 'restore', error: 'pg_restore exited with code 1: relation "users" already exists', errorKind: 'RestoreError' },
  timings: { downloadMs: 60_000, decryptMs: 30_000, restoreMs: null, countMs: null },
  recordCounts: null,
};

describe('buildEvidence verdict', () => {
  it('passes a restored backup whose checks ran and none failed (warn and skip do not fail it)', () => {
    expect(evidence().verdict).toBe('PASS');
  });

  it('fails when the restore failed, a check failed, an error went unhandled, or no check ran', () => {
    expect(evidence({ state: restoreFailed }).verdict).toBe('FAIL');
    expect(evidence({ checks: [...passing, check('canaries', 'Canary logins', 'fail')] }).verdict).toBe('FAIL');
    expect(evidence({ unhandledErrors: ['drills/custom.drill.ts: Cannot find module ./helpers'] }).verdict).toBe('FAIL');
    expect(evidence({ checks: [] }).verdict).toBe('FAIL');
  });

  it('yields a record the evidence schema accepts, for a pass and for a failure', () => {
    expect(DrillEvidence.parse(evidence()).verdict).toBe('PASS');
    expect(parseEvidence(evidence({ state: restoreFailed, checks: [check('restore', 'Backup restores', 'fail')] })).verdict).toBe('FAIL');
  });
});

describe('buildEvidence timings', () => {
  it('sums download, decrypt, restore and checks (the record-count comparison included) into the RTO', () => {
    expect(evidence().timings).toEqual({ downloadMs: 60_000, decryptMs: 30_000, restoreMs: 150_000, checksMs: 30_000, rtoMs: 270_000 });
    const noCount = evidence({ state: { timings: { downloadMs: null, decryptMs: 30_000, restoreMs: 150_000, countMs: null } } });
    expect(noCount.timings).toEqual({ downloadMs: null, decryptMs: 30_000, restoreMs: 150_000, checksMs: 24_000, rtoMs: 204_000 });
  });

  it('has no RTO when the restore did not complete', () => {
    expect(evidence({ state: restoreFailed }).timings.rtoMs).toBeNull();
    expect(evidence({ state: { timings: { downloadMs: 60_000, decryptMs: 30_000, restoreMs: null, countMs: null } } }).timings.rtoMs).toBeNull();
    expect(evidence({ state: restoreFailed }).history.at(-1)).toEqual({ drillId: 'drill-20261125T010000Z-app_db', startedAt: '2026-11-25T01:00:00.000Z', verdict: 'FAIL', rtoMs: null });
  });

  it('measures the backup age against the drill clock and sets the next drill by the interval', () => {
    const e = evidence();
    expect(e.rpoHours).toBe(48);
    expect(e.backup!.ageHours).toBe(48);
    expect(e.nextDrillDue).toBe('2026-12-25');
    expect(e.timeline.at(-1)).toEqual({ step: 'verified', at: '2026-11-25T01:05:00.000Z', detail: '3 checks, 0 failed' });
  });
});

describe('buildEvidence summary sentence', () => {
  it('on a pass: the backup, its time, the checks that ran (skips not counted) and the RTO against its target', () => {
    expect(evidence().summarySentence).toBe(
      'The app_db backup taken 2026-11-23 01:00 UTC was restored into an isolated sandbox and passed 2 integrity checks in 4.5 minutes (target 60).',
    );
  });

  it('when no check ran, with the first unhandled error if any', () => {
    expect(evidence({ checks: [] }).summarySentence).toBe('No check ran, so nothing was verified.');
    expect(evidence({ checks: [], unhandledErrors: ['drills/a.drill.ts: SyntaxError', 'second'] }).summarySentence).toBe(
      'No check ran, so nothing was verified: drills/a.drill.ts: SyntaxError.',
    );
  });

  it('when the checks passed but the run hit errors: the first two of them', () => {
    expect(evidence({ unhandledErrors: ['e1', 'e2', 'e3'] }).summarySentence).toBe('The backup restored and no check failed, but the drill hit errors: e1; e2.');
  });

  it('when checks failed: how many and which', () => {
    const checks = [...passing, check('canaries', 'Canary logins', 'fail'), check('fks', 'Foreign keys hold', 'fail')];
    expect(evidence({ checks, unhandledErrors: ['e1'] }).summarySentence).toBe('The backup restored, but 2 check(s) failed: Canary logins; Foreign keys hold.');
  });

  it('when the restore failed: the stage and the error', () => {
    expect(evidence({ state: restoreFailed, checks: [check('restore', 'Backup restores', 'fail')] }).summarySentence).toBe(
      'The backup of app_db could NOT be restored (restore stage): pg_restore exited with code 1: relation "users" already exists',
    );
  });
});

describe('buildEvidence tables, backup and retention', () => {
  it('reconciles the restored counts, or lists the expected rows with no actual count when nothing was counted', () => {
    const differing = [
      { schema: 'public', name: 'users', expected: 42, actual: 42 },
      { schema: 'public', name: 'orders', expected: 7, actual: 6 },
    ];
    const recordCounts = { status: 'fail' as const, summary: '2 tables: public.orders has 6 of 7 rows', tolerance: 0, tables: differing };
    expect(evidence({ state: { recordCounts } }).tables).toEqual(differing);
    expect(evidence({ state: restoreFailed }).tables).toEqual([
      { schema: 'public', name: 'users', expected: 42, actual: null },
      { schema: 'public', name: 'orders', expected: 7, actual: null },
    ]);
  });

  it("draws the retention grid from the catalog's full backups of this database, under the drill's policy", () => {
    const { retention } = evidence();
    expect(retention.policy).toEqual({ hourly: 0, daily: 3, weekly: 0, monthly: 3, quarterly: 0, yearly: 0 });
    expect(retention.tiers).toEqual([]);
    expect(retention.monthly).toEqual([
      { month: '2026-09', state: 'missing' },
      { month: '2026-10', state: 'present' },
      { month: '2026-11', state: 'present' },
    ]);
    expect(retention.daily).toEqual([
      { day: '2026-11-23', state: 'present' },
      { day: '2026-11-24', state: 'missing' },
      { day: '2026-11-25', state: 'missing' },
    ]);
  });

  it('records whether the downloaded bytes matched, the key, and the sandbox', () => {
    const e = evidence();
    expect(e.backup).toMatchObject({ id: '2026-11-23-app_db', sha256Verified: true, encryptionKeyId: 'k2026', storedSize: 2_048 });
    expect(e.sandbox).toMatchObject({ kind: 'embedded', serverVersion: '15.18', isolated: true });
    expect(JSON.stringify(e)).not.toContain('sandbox-pw');
    expect(evidence({ state: { verified: { storedSha256: OTHER_SHA, plaintextSha256: null } } }).backup!.sha256Verified).toBe(false);
    expect(evidence({ state: { sandbox: null } }).sandbox).toMatchObject({ description: 'not started', serverVersion: 'n/a' });
  });

  it('chains to the last stored drill and keeps it in the history', () => {
    const stored = parseEvidence(readFileSync(new URL('../fixtures/evidence-pass.json', import.meta.url), 'utf8'));
    const record: StoredDrillRecord = { key: `backups/drills/2026-11/${stored.drillId}.json`, evidence: stored, evidenceSha256: OTHER_SHA, signed: false };
    const e = evidence({ history: [record] });
    expect(e.ledger).toEqual({ previousDrillId: stored.drillId, previousEvidenceSha256: OTHER_SHA });
    expect(e.history.map((h) => h.drillId).slice(-2)).toEqual([stored.drillId, 'drill-20261125T010000Z-app_db']);
    expect(evidence().ledger).toEqual({ previousDrillId: null, previousEvidenceSha256: null });
  });
});

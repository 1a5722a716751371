// Drill fidelity (issue 12 items 1 and 2) against a real history: backups taken on fixed past dates
// (runBackup's clock), each followed by retention on that date as the CLI does, drilled with the
// drill's own clock. Defects are made for real in the folder store: a flipped byte in a monthly
// copy the drill does not restore, a monthly deleted from the middle or the start of the history.
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerificationRecord } from '../../src/catalog/index.ts';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { applyRetention } from '../../src/retention/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { configFromEnv, newKeyring, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { drill, type DrillRun } from './drill-helpers.ts';

/** The drill's clock: an hour after the newest backup. */
const NOW = '2026-10-15T03:00:00.000Z';
const HISTORY = ['2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01', '2026-10-14', '2026-10-15'];

let source: SourceDatabase;
let env: Record<string, string>;
/** Dailies on HISTORY's days, monthlies 2026-07 to 2026-10: ten archives. */
let history: string;
/** Only 2026-10-14 and 2026-10-15 (and the 2026-10 monthly): the first backup is recent. */
let recent: string;
/** `history` after one healthy drill at NOW, which verified every archive and filed the ledger's first record. */
let drilled: string;
let firstDrill: DrillRun;

async function backUp(store: string, days: readonly string[]): Promise<void> {
  const config = await configFromEnv({ ...env, PGDRILL_STORAGE: store, DATABASE_URL: source.url });
  const storage = openStorage(config);
  try {
    for (const day of days) {
      const at = new Date(`${day}T02:00:00.000Z`);
      await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => at });
      await applyRetention({ storage, prefix: config.storage.prefix, policy: config.retention, now: at, orphanGraceHours: 24 });
    }
  } finally {
    await storage.close();
  }
}

async function copyOf(store: string): Promise<string> {
  const copy = tempDir('store-copy');
  await cp(store, copy, { recursive: true });
  return copy;
}

/** A backup gone for good: its manifest and its objects. */
async function remove(store: string, tier: string, id: string): Promise<void> {
  await rm(path.join(store, `backups/manifests/${tier}/${id}.json`));
  for (const file of await readdir(path.join(store, 'backups', tier))) if (file.startsWith(`${id}.`)) await rm(path.join(store, 'backups', tier, file));
}

async function ledger(store: string): Promise<VerificationRecord[]> {
  const dir = path.join(store, 'backups/verifications');
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => VerificationRecord.parse(JSON.parse(await readFile(path.join(dir, f), 'utf8')))));
}

/** The archives this drill's verification pass chose (not those it restored), as `tier/id: reason`. */
function passChose(run: DrillRun): string[] {
  const archives = (run.check('archive-verification')?.evidence as { archives: Array<{ tier: string; id: string; thisDrill?: string }> }).archives;
  return archives.filter((a) => a.thisDrill && a.thisDrill !== 'restored by this drill').map((a) => `${a.tier}/${a.id}: ${a.thisDrill}`);
}

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 500 });
  env = { PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'), PGDRILL_CANARY_PASSWORD: source.canaryPassword, PGDRILL_SANDBOX: 'embedded' };
  history = tempDir('history');
  await backUp(history, HISTORY);
  recent = tempDir('recent');
  await backUp(recent, HISTORY.slice(-2));
  drilled = await copyOf(history);
  firstDrill = await drill({ ...env, PGDRILL_STORAGE: drilled }, { now: NOW });
}, 400_000);
afterAll(async () => {
  await source?.stop();
});

describe('every retained archive is verified (issue 12 item 1)', () => {
  it('a monthly copy the drill does not restore, one byte flipped: the drill fails naming it (exit 1), and the ledger records it', async () => {
    const store = await copyOf(history);
    const damaged = path.join(store, 'backups/monthly/2026-09-oslrs.dump.zst.enc');
    const bytes = await readFile(damaged);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(damaged, bytes);

    const run = await drill({ ...env, PGDRILL_STORAGE: store }, { now: NOW });
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.result.verdict).toBe('FAIL');
    const check = run.check('archive-verification')!;
    expect(check.status).toBe('fail');
    expect(check.summary).toMatch(/^1 retained archive\(s\) FAILED verification: monthly 2026-09-oslrs \(IntegrityError 2026-10-15\); 9 of 10 retained archives verified within 12 months; oldest verification 2026-10-15$/);
    // Only this check fails: the newest backup and the oldest monthly restore fine.
    expect(run.result.failedChecks).toEqual([check.title]);
    expect(run.check('older-backup')).toMatchObject({ status: 'pass', summary: expect.stringMatching(/^2026-07-oslrs: /) });

    const records = await ledger(store);
    expect(records).toHaveLength(1);
    expect(records[0]!.verifiedAt).toBe(NOW);
    expect(records[0]!.results).toHaveLength(10);
    expect(records[0]!.results.find((r) => r.id === '2026-09-oslrs')).toMatchObject({ tier: 'monthly', method: 'verify', ok: false, errorKind: 'IntegrityError' });
    expect(records[0]!.results.filter((r) => r.method === 'restore').map((r) => `${r.tier}/${r.id}`).sort()).toEqual(['daily/2026-10-15-oslrs', 'monthly/2026-07-oslrs']);
  });

  it('a healthy history: every archive verified on the first drill, then the least recently verified one per monthly drill', async () => {
    const first = firstDrill;
    expect(first.exitCode, first.output.slice(-3000)).toBe(0);
    expect(first.check('archive-verification')).toMatchObject({ status: 'pass', summary: '10 of 10 retained archives verified within 12 months; oldest verification 2026-10-15' });
    expect(passChose(first)).toHaveLength(8);
    expect(passChose(first).every((c) => c.endsWith(': never verified'))).toBe(true);

    // A month later: ceil(10 / 12) = 1 archive re-verified besides the two restored: the least recently verified, oldest first.
    const store = await copyOf(drilled);
    const second = await drill({ ...env, PGDRILL_STORAGE: store }, { now: '2026-11-15T03:00:00.000Z' });
    expect(passChose(second)).toEqual(['daily/2026-07-01-oslrs: least recently verified']);
    expect(second.check('archive-verification')).toMatchObject({ status: 'pass', summary: '10 of 10 retained archives verified within 12 months; oldest verification 2026-10-15' });
    const third = await drill({ ...env, PGDRILL_STORAGE: store }, { now: '2026-12-15T03:00:00.000Z' });
    expect(passChose(third)).toEqual(['daily/2026-08-01-oslrs: least recently verified']);
    expect((await ledger(store)).map((r) => r.verifiedAt)).toEqual([NOW, '2026-11-15T03:00:00.000Z', '2026-12-15T03:00:00.000Z']);
  }, 400_000); // two drills in a row
});

describe('a gap in the monthly history fails (issue 12 item 2)', () => {
  it('a monthly deleted from the middle of the history: retention-coverage fails naming the month (exit 1)', async () => {
    const store = await copyOf(history);
    await remove(store, 'monthly', '2026-09-oslrs');
    const run = await drill({ ...env, PGDRILL_STORAGE: store }, { now: NOW });
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    const check = run.check('retention-coverage')!;
    expect(check.status).toBe('fail');
    // Missing dailies stay a warning; the gap in the monthlies is what fails.
    expect(check.summary).toBe('1 month missing (2026-09); 5 days missing (2026-10-11, 2026-10-12, 2026-10-13)');
    expect(run.result.failedChecks).toEqual([check.title]);
  });

  it('the oldest monthly and its daily deleted: the ledger remembers the first backup, so 2026-07 is a gap, not "not yet due"', async () => {
    const store = await copyOf(drilled);
    await remove(store, 'monthly', '2026-07-oslrs');
    await remove(store, 'daily', '2026-07-01-oslrs');
    const run = await drill({ ...env, PGDRILL_STORAGE: store }, { now: NOW });
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.check('retention-coverage')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^1 month missing \(2026-07\); /) });
  });

  it('a history whose first backup is recent passes: the months and days before it are not due', async () => {
    const run = await drill({ ...env, PGDRILL_STORAGE: recent }, { now: NOW });
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.check('retention-coverage')).toMatchObject({ status: 'pass', summary: '1 monthly slot(s) present, none missing; last 7 days covered' });
    expect(run.evidence!.retention.monthly.filter((s) => s.state !== 'not-due')).toEqual([{ month: '2026-10', state: 'present' }]);
  });
});

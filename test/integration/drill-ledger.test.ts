import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/index.ts';
import { parseEvidence, publishReport, serializeEvidence } from '../../src/evidence/index.ts';
import { createLocalStorage } from '../../src/storage/index.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill } from './drill-helpers.ts';

// Two real drills at the same time append to one ledger (issue 11, item 6): before appends were
// serialised both chained to the same predecessor (here: both started a new ledger), and
// `verify-reports` reported the second as REORDERED for good. The drills are of two databases
// backed up into one store (one ledger), as two scheduled jobs would run them: their ids differ
// even when both start in the same second (a drill id has one-second resolution and names the
// database), so they can start together and race to file. Small fixture, no older-backup restore,
// embedded sandboxes.

let source: SourceDatabase;
let env: Record<string, string>;
/** Backup ids: the fixture database and its copy. */
const ids: string[] = [];

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 200 });
  const configFile = path.join(tempDir('config'), 'pgdrill.config.json');
  writeFileSync(configFile, JSON.stringify({ drill: { olderBackup: 'none', loginRoles: [{ name: 'oslrs_app', passwordEnv: 'OSLRS_APP_PASSWORD' }] } }));
  env = {
    PGDRILL_STORAGE: tempDir('ledger-store'),
    PGDRILL_ENCRYPTION_KEYS: newKeyring(),
    PGDRILL_CANARY_PASSWORD: source.canaryPassword,
    OSLRS_APP_PASSWORD: source.appPassword,
    PGDRILL_CONFIG: configFile,
    PGDRILL_SANDBOX: 'embedded',
  };
  const admin = new pg.Client({ connectionString: source.sandbox.connectionUri('postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE oslrs_copy TEMPLATE oslrs').finally(() => admin.end());
  for (const database of ['oslrs', 'oslrs_copy']) {
    const backup = await runCli(['backup', '--json'], { ...env, DATABASE_URL: source.sandbox.connectionUri(database) });
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    ids.push((JSON.parse(String(backup.stdout)) as BackupManifest).id);
  }
});

afterAll(async () => {
  await source?.stop();
});

describe('concurrent drills', () => {
  it('two drills started together file one after the other, chained, and verify-reports passes', async () => {
    const runs = await Promise.all(ids.map((key) => drill(env, { selector: { key } })));
    for (const run of runs) {
      expect(run.result.error, run.output.slice(-3000)).toBeUndefined();
      expect(run.result.verdict, run.output.slice(-3000)).toBe('PASS');
    }
    const [a, b] = runs.map((run) => run.evidence!);
    expect(a!.drillId).not.toBe(b!.drillId);
    // One of them filed first and started the ledger; the other names it, with its hash.
    const [earlier, later] = a!.ledger.previousDrillId === null ? [a!, b!] : [b!, a!];
    expect(earlier.ledger).toEqual({ previousDrillId: null, previousEvidenceSha256: null });
    expect(later.ledger.previousDrillId).toBe(earlier.drillId);
    expect(Date.parse(later.finishedAt)).toBeGreaterThan(Date.parse(earlier.finishedAt));
    // They did run at the same time: the later one started before the earlier one was filed.
    expect(Date.parse(later.startedAt)).toBeLessThan(Date.parse(earlier.finishedAt));

    // Both released the ledger lock: the next drill does not wait.
    expect(existsSync(path.join(env.PGDRILL_STORAGE!, 'backups/drills/ledger.lock'))).toBe(false);

    const verify = await runCli(['verify-reports'], env);
    expect(verify.exitCode, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain('2 drill record(s)');
    expect(verify.stdout).toContain('ledger intact');
    expect(verify.stdout).not.toMatch(/FORKED|REORDERED|MISSING|ALTERED/);
  });
});

describe('verify-reports on a store that already has a fork', () => {
  /** Files records that each name `previous` (null: the start of the ledger), as concurrent drills did before. */
  async function fileSiblings(store: string, siblings: Array<{ drillId: string; startedAt: string; finishedAt: string }>): Promise<void> {
    const template = parseEvidence(readFileSync(path.join(import.meta.dirname, '../fixtures/evidence-pass.json')));
    const storage = createLocalStorage({ root: store });
    const local = tempDir('fork-reports');
    try {
      for (const sibling of siblings) {
        const evidence = parseEvidence({ ...template, ...sibling, ledger: { previousDrillId: null, previousEvidenceSha256: null }, history: [] });
        const base = path.join(local, sibling.drillId);
        writeFileSync(`${base}.json`, serializeEvidence(evidence));
        writeFileSync(`${base}.html`, '<!DOCTYPE html><title>stub</title>');
        writeFileSync(`${base}.pdf`, '%PDF-1.4 stub');
        await publishReport(storage, 'backups', { jsonPath: `${base}.json`, htmlPath: `${base}.html`, pdfPath: `${base}.pdf` }, evidence);
      }
    } finally {
      await storage.close();
    }
  }

  it('explains a fork from concurrent drills and passes (exit 0); a restart months later still fails (exit 4)', async () => {
    const store = tempDir('forked-store');
    await fileSiblings(store, [
      { drillId: 'drill-20261207T091110Z-oslrs', startedAt: '2026-12-07T09:11:10.000Z', finishedAt: '2026-12-07T09:11:50.000Z' },
      { drillId: 'drill-20261207T091111Z-oslrs', startedAt: '2026-12-07T09:11:11.000Z', finishedAt: '2026-12-07T09:11:52.000Z' },
    ]);
    const forked = await runCli(['verify-reports'], { PGDRILL_STORAGE: store });
    expect(forked.exitCode, String(forked.stderr)).toBe(0);
    expect(forked.stdout).toContain('FORKED drill-20261207T091111Z-oslrs: drill-20261207T091110Z-oslrs and drill-20261207T091111Z-oslrs both start the ledger (no previous drill): the two drills ran at the same time (their records were made 2 s apart)');
    expect(forked.stdout).toMatch(/\nledger intact: 1 fork\(s\) from drills that ran at the same time \(records intact; not a failure\)$/);

    await fileSiblings(store, [{ drillId: 'drill-20270307T010000Z-oslrs', startedAt: '2027-03-07T01:00:00.000Z', finishedAt: '2027-03-07T01:01:00.000Z' }]);
    const restarted = await runCli(['verify-reports'], { PGDRILL_STORAGE: store });
    expect(restarted.exitCode).toBe(4);
    expect(restarted.stdout).toContain('REORDERED drill-20270307T010000Z-oslrs: drill-20270307T010000Z-oslrs and drill-20261207T091110Z-oslrs both start the ledger (no previous drill), but their records were made 90 days apart');
    expect(restarted.stdout).toMatch(/\n1 problem\(s\), and 1 fork\(s\) from drills that ran at the same time/);
  });
});

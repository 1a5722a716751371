// Checks that were never made to fail (issue 12 item 9), each with its defect made for real in
// one drill, and the exit codes of the commands around a drill, run as processes. The history is
// built on fixed dates (no test depends on today's): a monthly taken 2026-01-15 with a key that
// was since lost, today's backup 2026-03-15, no backup in February, and the application's login
// role given a password that no longer matches.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { applyRetention } from '../../src/retention/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { configFromEnv, newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill, type DrillRun } from './drill-helpers.ts';

let source: SourceDatabase;
let store: string;
let configFile: string;
const oldKey = newKeyring('k2025');
const newKey = newKeyring('k2026');
let run: DrillRun;

/** A backup "taken" at `at`, then retention as of that moment (promotes the month's first backup). */
async function backupAt(at: string, keys: string): Promise<void> {
  const config = await configFromEnv({ PGDRILL_STORAGE: store, PGDRILL_ENCRYPTION_KEYS: keys, PGDRILL_CONFIG: configFile, DATABASE_URL: source.url });
  const storage = openStorage(config);
  try {
    await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => new Date(at) });
    await applyRetention({ storage, prefix: config.storage.prefix, policy: config.retention, now: new Date(at), orphanGraceHours: config.backup.orphanGraceHours });
  } finally {
    await storage.close();
  }
}

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 300 });
  store = tempDir('store');
  configFile = path.join(tempDir('config'), 'pgdrill.config.json');
  writeFileSync(configFile, JSON.stringify({ drill: { retentionSeverity: 'fail', loginRoles: [{ name: 'oslrs_app', passwordEnv: 'OSLRS_APP_PASSWORD' }] } }));
  await backupAt('2026-01-15T01:00:00Z', oldKey);
  await backupAt('2026-03-15T01:00:00Z', `${newKey},${oldKey}`);
  // Today's keyring has lost k2025; the login role's password changed after the backup.
  run = await drill(
    { PGDRILL_STORAGE: store, PGDRILL_ENCRYPTION_KEYS: newKey, PGDRILL_CONFIG: configFile, PGDRILL_CANARY_PASSWORD: source.canaryPassword, OSLRS_APP_PASSWORD: 'not-the-password', PGDRILL_SANDBOX: 'embedded' },
    { now: '2026-03-15T12:00:00.000Z' },
  );
});
afterAll(async () => {
  await source?.stop();
});

describe('checks fail on defects made for real', () => {
  it('the drill fails (exit 1), naming each failed check; the newest backup itself restores and counts', () => {
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.result.verdict).toBe('FAIL');
    for (const id of ['backup-integrity', 'restore', 'record-counts', 'freshness', 'audit-chain', 'sequences']) expect(run.check(id)?.status, id).toBe('pass');
    // The oldest monthly cannot be decrypted, so the archive verification pass fails on it too.
    expect(run.result.failedChecks.sort()).toEqual(['archive-verification', 'older-backup', 'retention-coverage', 'role-authentication'].map((id) => run.check(id)!.title).sort());
  });

  it('older-backup: the oldest monthly was encrypted with a key no longer in the keyring', () => {
    expect(run.check('older-backup')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^2026-01-oslrs: verify failed: UNKNOWN_KEY: the object was encrypted with key "k2025", which is not in the keyring/) });
    expect(run.check('archive-verification')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/FAILED verification: monthly 2026-01-oslrs \(CryptoError/) });
  });

  it('retention-coverage: no monthly backup of February, and six of the last seven days missing', () => {
    expect(run.check('retention-coverage')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^1 month missing \(2026-02\); 6 days missing/) });
  });

  it('role-authentication: the configured login role cannot authenticate', () => {
    const check = run.check('role-authentication')!;
    expect(check.status).toBe('fail');
    expect(check.summary).toMatch(/^1 problem\(s\): login role oslrs_app cannot authenticate: password authentication failed for user "oslrs_app"/);
    expect(run.output).not.toContain('not-the-password');
  });
});

describe('exit codes of the commands around a drill, as processes', () => {
  it('verify-reports: 0 while the filed record is whole, 4 once its PDF is gone', async () => {
    const env = { PGDRILL_STORAGE: store };
    const intact = await runCli(['verify-reports'], env);
    expect(intact.exitCode, String(intact.stderr)).toBe(0);
    expect(String(intact.stdout)).toMatch(/1 drill record\(s\) in .*\nledger intact/);

    const drills = path.join(store, 'backups/drills');
    const [month] = await readdir(drills);
    const pdf = (await readdir(path.join(drills, month!))).find((f) => f.endsWith('.pdf'))!;
    await rm(path.join(drills, month!, pdf));
    const broken = await runCli(['verify-reports'], env);
    expect(broken.exitCode).toBe(4);
    expect(String(broken.stdout)).toContain(`INCOMPLETE ${run.result.drillId}`);
    expect(String(broken.stderr)).toMatch(/Drill records failed verification/);
  });

  it('report --from: 0 with Chromium, the report error\'s code (1) without it', async () => {
    const out = tempDir('rerendered');
    const ok = await runCli(['report', '--from', run.result.jsonPath!, '--out', out], {});
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(String(ok.stdout)).toMatch(/\.pdf \(\d+ pages\)/);
    const noChromium = await runCli(['report', '--from', run.result.jsonPath!, '--out', out], { PUPPETEER_EXECUTABLE_PATH: '/nonexistent/chromium' });
    expect(noChromium.exitCode).toBe(1);
    expect(String(noChromium.stderr)).toMatch(/ReportError|chromium/i);
  });

  it('demo: the drill passes, but without Chromium the exit code is the report error\'s (1)', async () => {
    const dir = tempDir('demo');
    const demo = await runCli(['demo', '--rows', '200', '--dir', path.join(dir, 'store')], { PUPPETEER_EXECUTABLE_PATH: '/nonexistent/chromium', PGDRILL_REPORTS_DIR: path.join(dir, 'reports') }, { cwd: dir, timeoutMs: 300_000 });
    expect(String(demo.stdout), String(demo.stderr)).toMatch(/^Drill \S+: PASS$/m);
    expect(String(demo.stdout)).toMatch(/^Error: the drill record could not be completed: .*chromium/im);
    expect(demo.exitCode).toBe(1);
  });
});

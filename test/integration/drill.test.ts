import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { configFromEnv, newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill } from './drill-helpers.ts';

let source: SourceDatabase;
let env: Record<string, string>;
let configFile: string;
let olderMonthly: string;

const BUILT_IN = ['restore', 'backup-integrity', 'record-counts', 'role-authentication', 'audit-chain', 'schema-fingerprint', 'tables-readable', 'freshness', 'retention-coverage', 'older-backup', 'archive-verification', 'extensions', 'sequences', 'sensitivity'];

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 2000 });
  const dir = tempDir('config');
  configFile = path.join(dir, 'pgdrill.config.json');
  writeFileSync(configFile, JSON.stringify({ drill: { loginRoles: [{ name: 'oslrs_app', passwordEnv: 'OSLRS_APP_PASSWORD' }] } }));
  env = {
    PGDRILL_STORAGE: tempDir('store'),
    PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'),
    PGDRILL_CANARY_PASSWORD: source.canaryPassword,
    OSLRS_APP_PASSWORD: source.appPassword,
    PGDRILL_CONFIG: configFile,
  };
  // A backup taken on the first of last month (its monthly copy is the oldest retained monthly, and
  // no month is skipped: a gap in the monthlies fails the drill), then today's.
  const config = await configFromEnv({ ...env, DATABASE_URL: source.url });
  const storage = openStorage(config);
  const today = new Date();
  const lastMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1, 2));
  await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => lastMonth });
  await storage.close();
  const backup = await runCli(['backup'], { ...env, DATABASE_URL: source.url });
  expect(backup.exitCode, String(backup.stderr)).toBe(0);
  olderMonthly = `${lastMonth.toISOString().slice(0, 7)}-oslrs`;
});
afterAll(async () => {
  await source?.stop();
});

describe('a healthy backup', () => {
  it('passes every check in the embedded sandbox and files a PDF with the evidence', async () => {
    const run = await drill({ ...env, PGDRILL_SANDBOX: 'embedded' });
    expect(run.result.verdict, run.output.slice(-3000)).toBe('PASS');
    expect(run.exitCode).toBe(0);
    const evidence = run.evidence!;
    expect(evidence.sandbox.kind).toBe('embedded');
    for (const id of BUILT_IN) expect(['pass', 'warn'], `${id}: ${run.check(id)?.summary}`).toContain(run.check(id)?.status);
    for (const id of ['restore', 'backup-integrity', 'record-counts', 'role-authentication', 'audit-chain', 'schema-fingerprint', 'tables-readable', 'freshness', 'sequences', 'sensitivity']) {
      expect(run.check(id)?.status, `${id}: ${run.check(id)?.summary}`).toBe('pass');
    }
    expect(run.check('role-authentication')?.summary).toMatch(/1 login role\(s\) and 7 canary account\(s\) authenticated/);
    expect(run.check('audit-chain')?.summary).toContain(`head id=${source.summary.auditChainHead.id}`);
    expect(run.check('sensitivity')?.summary).toBe('sensitivity shown: 3 of 3 mutations caught (record-counts, audit-chain, sequences)');
    // The custom check from drills/custom-example.drill.ts, under its test name, with its evidence.
    const custom = evidence.checks.find((c) => c.title === 'no audit entry is dated after the backup was taken');
    expect(custom).toMatchObject({ status: 'pass', builtIn: false, evidence: { futureEntries: 0 } });
    expect(evidence.tables.find((t) => t.schema === 'public' && t.name === 'respondents')).toEqual({ schema: 'public', name: 'respondents', expected: 2000, actual: 2000 });
    expect(evidence.timings.rtoMs).toBeGreaterThan(0);
    expect(run.result.pdfPath).toMatch(/\.pdf$/);
    // The oldest retained monthly was restored too, in a second sandbox, with today's keyring.
    expect(run.check('older-backup')).toMatchObject({ status: 'pass' });
    expect(evidence.olderBackup).toMatchObject({ id: olderMonthly, status: 'pass', encryptionKeyId: 'k1' });
    expect(evidence.timeline.map((t) => t.step)).toEqual(expect.arrayContaining(['located', 'downloaded', 'restored', 'older-backup-restored', 'archives-verified', 'verified']));
    // Both monthlies and both dailies were verified: two by restoring them, two by the verification pass.
    expect(run.check('archive-verification')?.summary).toBe(`4 of 4 retained archives verified within 12 months; oldest verification ${run.evidence!.startedAt.slice(0, 10)}`);
    expect(run.check('extensions')?.summary).toBe('3 extension(s) available in the sandbox (citext, pgcrypto, plpgsql), same versions');
  });

  it.skipIf(!inject('dockerAvailable'))('passes in the docker sandbox (Testcontainers) restored with the container\'s own pg_restore', async () => {
    const run = await drill({ ...env, PGDRILL_SANDBOX: 'docker' });
    expect(run.result.verdict, run.output.slice(-3000)).toBe('PASS');
    expect(run.evidence!.sandbox).toMatchObject({ kind: 'docker', description: 'postgres:15' });
    expect(run.check('record-counts')?.status).toBe('pass');
  });
});

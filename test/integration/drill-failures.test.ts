// Proof that drills catch failures: each case breaks one thing and the drill must FAIL with the
// right check named. Faults come from real tampering where a real part can produce it (storage
// bytes, source rows, keys, the clock); the restored-copy faults use the drill's named
// FAULT INJECTION hook (SQL run in the sandbox after restore), standing in for a restore that
// silently lost rows, a table or a role.
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill, type DrillRun } from './drill-helpers.ts';

let source: SourceDatabase;
let store: string;
let env: Record<string, string>;

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 1500 });
  store = tempDir('store');
  env = { PGDRILL_STORAGE: store, PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'), PGDRILL_CANARY_PASSWORD: source.canaryPassword, PGDRILL_SANDBOX: 'embedded' };
  const backup = await runCli(['backup'], { ...env, DATABASE_URL: source.url });
  expect(backup.exitCode, String(backup.stderr)).toBe(0);
});
afterAll(async () => {
  await source?.stop();
});

function expectFailureNamed(run: DrillRun, checkId: string, message: RegExp): void {
  expect(run.result.verdict, run.output.slice(-3000)).toBe('FAIL');
  expect(run.exitCode).toBe(1);
  const check = run.check(checkId);
  expect(check?.status, JSON.stringify(run.evidence?.checks.map((c) => [c.id, c.status, c.summary]))).toBe('fail');
  expect(check?.failure ?? check?.summary).toMatch(message);
  expect(run.result.failedChecks).toContain(check!.title);
}

async function copyStore(): Promise<string> {
  const copy = tempDir('store-copy');
  await cp(store, copy, { recursive: true });
  return copy;
}

describe('drills fail, naming the check, when', () => {
  it('a stored object is corrupted (one byte flipped)', async () => {
    const copy = await copyStore();
    const dir = path.join(copy, 'backups/daily');
    const dump = (await readdir(dir)).find((f) => f.endsWith('.dump.zst.enc'))!;
    const bytes = await readFile(path.join(dir, dump));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(path.join(dir, dump), bytes);
    await cp(path.join(dir, dump), path.join(copy, 'backups/monthly', dump.replace(/^\d{4}-\d{2}-\d{2}/, (d) => d.slice(0, 7))));
    const run = await drill({ ...env, PGDRILL_STORAGE: copy });
    expectFailureNamed(run, 'backup-integrity', /does not match its manifest/);
    expect(run.check('record-counts')?.status).toBe('skip');
  });

  it('rows are lost in the restore, the last audit row among them', async () => {
    const run = await drill(env, {
      faultInjectionSql: 'DELETE FROM public.submissions_2024 WHERE id % 3 = 0; DELETE FROM public.audit_logs WHERE id = (SELECT max(id) FROM public.audit_logs)',
    });
    expectFailureNamed(run, 'record-counts', /public\.submissions_2024: [\d,]+ of [\d,]+ rows/);
    // What is left of the chain still links up; its head is not the one the backup recorded.
    expectFailureNamed(run, 'audit-chain', /chain verifies but its head \(id=\d+\) differs from the backup's recorded head \(id=\d+\)/);
  });

  it('a large object is lost in the restore', async () => {
    const run = await drill(env, { faultInjectionSql: 'SELECT lo_unlink(min(oid)) FROM pg_largeobject_metadata' });
    expectFailureNamed(run, 'record-counts', /1 of 2 large objects/);
  });

  it('a table is dropped in the restore, and rows other rows point at are lost', async () => {
    // Replica mode: the delete passes the foreign keys, as a restore that lost rows would.
    const run = await drill(env, {
      faultInjectionSql: 'DROP TABLE registry.api_clients; SET session_replication_role = replica; DELETE FROM public.lgas WHERE id = 1; SET session_replication_role = origin',
    });
    expectFailureNamed(run, 'record-counts', /registry\.api_clients missing/);
    expectFailureNamed(run, 'tables-readable', /registry\.api_clients is missing; foreign key \S+: \d+ row\(s\) in (public\.)?\w+ point at no (public\.)?lgas row/);
    expectFailureNamed(run, 'schema-fingerprint', /table registry\.api_clients missing/);
  });

  it('an audit row was altered without fixing the chain', async () => {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    const tamperedStore = tempDir('store-tampered');
    const original = (await client.query<{ action: string }>('SELECT action FROM public.audit_logs WHERE id = 10')).rows[0]!.action;
    try {
      await client.query(`UPDATE public.audit_logs SET action = 'respondent.deleted' WHERE id = 10`);
      const backup = await runCli(['backup'], { ...env, PGDRILL_STORAGE: tamperedStore, DATABASE_URL: source.url });
      expect(backup.exitCode, String(backup.stderr)).toBe(0);
    } finally {
      // Put the row back so the shared source stays valid for the other cases.
      await client.query('UPDATE public.audit_logs SET action = $1 WHERE id = 10', [original]);
      await client.end();
    }
    const run = await drill({ ...env, PGDRILL_STORAGE: tamperedStore });
    expectFailureNamed(run, 'audit-chain', /chain broken at public\.audit_logs id=10/);
  });

  it('a role, a membership and a privilege are lost after restore', async () => {
    const run = await drill(env, {
      faultInjectionSql: 'DROP OWNED BY verification_assessor; DROP ROLE verification_assessor; REVOKE enumerator FROM oslrs_app; REVOKE INSERT ON public.audit_logs FROM oslrs_app',
    });
    expectFailureNamed(run, 'role-authentication', /problem\(s\): role oslrs_app lost membership in enumerator; role oslrs_app lost 1 table privilege\(s\), e\.g\. public\.audit_logs:INSERT/);
    expect((run.check('role-authentication')?.evidence as { problems: string[] }).problems).toContain('role verification_assessor is missing');
  });

  it('a canary password hash was altered', async () => {
    const other = await bcrypt.hash('not-the-canary-password', 4);
    const run = await drill(env, { faultInjectionSql: `UPDATE public.users SET password_hash = '${other}' WHERE email = 'canary+supervisor@pgdrill.invalid'` });
    expectFailureNamed(run, 'role-authentication', /canary password for role supervisor does not verify/);
    expect(run.output).not.toContain(other);
    expect(JSON.stringify(run.evidence)).not.toContain(other);
  });

  it('the key is wrong (same id, other key material)', async () => {
    const run = await drill({ ...env, PGDRILL_ENCRYPTION_KEYS: newKeyring('k1') });
    expectFailureNamed(run, 'backup-integrity', /WRONG_KEY/);
  });

  it('the newest backup is stale (the drill runs three days later)', async () => {
    const run = await drill(env, { now: new Date(Date.now() + 3 * 86_400_000).toISOString() });
    expectFailureNamed(run, 'freshness', /older than the 26 h limit/);
  });
});

// A database pgdrill was not configured for: no audit chain, no canary table, quoted mixed-case
// identifiers, an enum, an identity column, a partitioned table, FORCE row-level security, a
// column named like the row alias. Default settings must back it up and drill it to PASS, with
// the checks that do not apply reported as skipped (never as passed).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill } from './drill-helpers.ts';

let source: Sandbox;
beforeAll(async () => {
  source = await startEmbeddedSandbox({ major: 15, database: 'shop' });
  const client = new pg.Client({ connectionString: source.connectionUri('shop') });
  await client.connect();
  await client.query(`
    CREATE SCHEMA "Sales";
    CREATE TYPE "Sales".status AS ENUM ('new', 'paid');
    CREATE TABLE "Sales"."Orders" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "Status" "Sales".status, total numeric, note text, t int);
    INSERT INTO "Sales"."Orders" ("Status", total, note, t) SELECT 'paid', g, repeat('x', 3000), g FROM generate_series(1, 500) g;
    CREATE TABLE public.log (id bigint PRIMARY KEY, at timestamptz DEFAULT now()) PARTITION BY RANGE (id);
    CREATE TABLE public.log_1 PARTITION OF public.log FOR VALUES FROM (1) TO (1000);
    INSERT INTO public.log (id) SELECT g FROM generate_series(1, 999) g;
    ALTER TABLE "Sales"."Orders" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "Sales"."Orders" FORCE ROW LEVEL SECURITY;
    CREATE POLICY paid_only ON "Sales"."Orders" USING (total > 0);`);
  await client.end();
});
afterAll(async () => {
  await source?.stop();
});

describe('an unfamiliar database with default settings', () => {
  it('backs up and drills to PASS; checks that do not apply are skipped with a reason', async () => {
    const env = { PGDRILL_STORAGE: tempDir('store'), PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'), PGDRILL_SANDBOX: 'embedded' };
    const backup = await runCli(['backup', '--json'], { ...env, DATABASE_URL: source.connectionUri('shop') });
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    const manifest = JSON.parse(String(backup.stdout)) as { tables: Array<{ schema: string; name: string; rows: number }>; auditChain: unknown };
    expect(manifest.tables).toEqual([
      { schema: 'Sales', name: 'Orders', rows: 500 },
      { schema: 'public', name: 'log_1', rows: 999 },
    ]);
    expect(manifest.auditChain).toBeNull();

    const run = await drill(env);
    expect(run.result.verdict, run.output.slice(-3000)).toBe('PASS');
    expect(run.check('audit-chain')).toMatchObject({ status: 'skip', summary: expect.stringMatching(/not applicable: public\.audit_logs is not part of this backup/) });
    expect(run.check('record-counts')?.status).toBe('pass');
    expect(run.check('schema-fingerprint')?.status).toBe('pass');
    // Every row read whole: 500 notes of 3,000 characters are more than 1.4 MB of row text.
    expect(run.check('tables-readable')).toMatchObject({ status: 'pass', evidence: { bytesRead: expect.any(Number) } });
    expect((run.check('tables-readable')?.evidence as { bytesRead: number }).bytesRead).toBeGreaterThan(1_400_000);
    expect(run.evidence!.summarySentence).toMatch(/passed \d+ integrity checks/);
    // No login role or canary applies here: the "accounts authenticate" half tested nothing, and says so.
    expect(run.check('role-authentication')).toMatchObject({
      status: 'warn',
      summary: expect.stringMatching(/restored; no account was tested: .*drill\.canaries names public\.users, which is not in this backup\)\. Add drill\.loginRoles/),
    });
    expect(run.check('sequences')).toMatchObject({ status: 'pass', summary: '1 sequence(s) ahead of their column (1 on tables with rows)' });
    expect(run.check('sensitivity')).toMatchObject({
      status: 'pass',
      summary: 'sensitivity shown: 2 of 2 mutations caught (record-counts, sequences); not applicable: audit-chain (the audit-chain check does not apply to this backup)',
    });
  });
});

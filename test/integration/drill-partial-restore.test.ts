// A restore that fails part-way (issue 12 item 3), built for real: a CHECK constraint and an index
// call SQL functions that name a table without its schema. They work in the application (its
// search_path finds public.tariffs) and pg_dump backs them up faithfully, but pg_restore runs
// with an empty search_path (PostgreSQL 10.3 and later), so the COPY of shipments and the index
// fail on restore. The drill must fail, run to the end, and name what was lost and why.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncompleteRestoreError, pgBinary, findPgBinDir, runPgTool } from '../../src/pgtools/index.ts';
import { schemaFingerprint } from '../../src/inspect/index.ts';
import { startEmbeddedSandbox, type EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill } from './drill-helpers.ts';

let source: EmbeddedSandbox;
let sql: pg.Client;

beforeAll(async () => {
  source = await startEmbeddedSandbox({ major: 15, database: 'freight' });
  sql = new pg.Client({ connectionString: source.connectionUri('freight') });
  await sql.connect();
  await sql.query(`
    CREATE TABLE public.tariffs (code text PRIMARY KEY, rate numeric NOT NULL);
    INSERT INTO public.tariffs SELECT 'T' || g, g FROM generate_series(1, 20) g;
    -- The classic: function bodies name tariffs unqualified.
    CREATE FUNCTION public.tariff_exists(c text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM tariffs WHERE code = c) $$;
    CREATE FUNCTION public.tariff_rate(c text) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT rate FROM tariffs WHERE code = c $$;
    CREATE TABLE public.shipments (id int PRIMARY KEY, tariff text NOT NULL CHECK (public.tariff_exists(tariff)), weight int NOT NULL);
    INSERT INTO public.shipments SELECT g, 'T' || (1 + g % 20), g FROM generate_series(1, 3000) g;
    CREATE INDEX idx_tariff ON public.shipments (public.tariff_rate(tariff));`);
});
afterAll(async () => {
  await sql?.end();
  await source?.stop();
});

describe('a restore that fails part-way', () => {
  it('fails the drill (exit 1) and names the lost rows, the missing index and the likely cause', async () => {
    const env = { PGDRILL_STORAGE: tempDir('store'), PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'), PGDRILL_SANDBOX: 'embedded' };
    const backup = await runCli(['backup'], { ...env, DATABASE_URL: source.connectionUri('freight') });
    expect(backup.exitCode, String(backup.stderr)).toBe(0);

    const run = await drill(env);
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.result.verdict).toBe('FAIL');

    const restore = run.check('restore')!;
    expect(restore.status).toBe('fail');
    expect(restore.summary).toMatch(/^pg_restore finished with 2 error\(s\), so the restored database is incomplete: /);
    expect(restore.summary).toContain('public.shipments: 0 of 3,000 rows (relation "tariffs" does not exist)');
    expect(restore.summary).toContain('index public.idx_tariff missing');
    expect(restore.summary).toMatch(/likely cause: function tariff_exists names tariffs without its schema; pg_restore runs with an empty search_path/);
    expect(restore.summary).not.toContain('custom, directory or tar');
    expect(restore.evidence).toMatchObject({
      failures: [
        { kind: 'TABLE DATA', schema: 'public', name: 'shipments', cause: 'unqualified-reference', causeObject: 'tariffs' },
        { kind: 'INDEX', schema: 'public', name: 'idx_tariff', cause: 'unqualified-reference', causeObject: 'tariffs' },
      ],
    });
    // The checks ran on what was restored (never "not run: restore failed").
    expect(run.check('record-counts')).toMatchObject({ status: 'fail', summary: expect.stringContaining('public.shipments: 0 of 3,000 rows') });
    expect(run.check('schema-fingerprint')).toMatchObject({ status: 'fail', summary: expect.stringContaining('index public.idx_tariff missing') });
    expect(run.check('tables-readable')?.status).toBe('pass');
    expect(run.evidence!.tables).toContainEqual({ schema: 'public', name: 'tariffs', expected: 20, actual: 20 });
    expect(run.evidence!.summarySentence).toMatch(/restored only in part: pg_restore could not restore 2 archive entries/);
    // The console names the damage too.
    expect(run.output).toContain('public.shipments: 0 of 3,000 rows');
    expect(run.output).toContain('index public.idx_tariff missing');
  });

  it('a role missing where the archive is restored: every entry that needs it is named with the role', async () => {
    await sql.query('CREATE ROLE auditor NOLOGIN; GRANT SELECT ON public.tariffs, public.shipments TO auditor');
    const archive = path.join(tempDir('archive'), 'freight.dump');
    const binDir = await findPgBinDir(15, { need: 'client' });
    try {
      await runPgTool(pgBinary(binDir, 'pg_dump'), ['--host=127.0.0.1', `--port=${source.connection.port}`, '--username=pgdrill', '--format=custom', `--file=${archive}`, 'freight'], {
        env: { PGPASSWORD: source.connection.password },
      });
    } finally {
      await sql.query('REVOKE ALL ON public.tariffs, public.shipments FROM auditor; DROP ROLE auditor');
    }
    await sql.query('CREATE DATABASE freight_copy');
    const attempt = source.pgRestore(archive, ['--dbname=freight_copy']);
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IncompleteRestoreError);
    const incomplete = error as IncompleteRestoreError;
    expect(incomplete.objectErrors.filter((e) => e.cause === 'missing-role').map((e) => e.entry)).toEqual(['ACL TABLE shipments pgdrill', 'ACL TABLE tariffs pgdrill']);
    expect(incomplete.message).toMatch(/role "auditor" does not exist/);
    expect(incomplete.hint).toMatch(/likely cause: role auditor does not exist where the restore ran/);
    expect((await readFile(archive)).length).toBeGreaterThan(0);
  });

  it('the schema fingerprint refuses tables it cannot see instead of hashing less (nothing, at worst)', async () => {
    const tables = [
      { schema: 'public', name: 'shipments' },
      { schema: 'public', name: 'no_such_table' },
    ];
    await expect(schemaFingerprint(sql, tables)).rejects.toThrow(/Schema fingerprint: 1 of the 2 tables to fingerprint are visible/);
    await expect(schemaFingerprint(sql, [{ schema: 'elsewhere', name: 'x' }])).rejects.toThrow(/0 of the 1 tables/);
    expect(await schemaFingerprint(sql, tables.slice(0, 1))).toMatch(/^[0-9a-f]{64}$/);
  });
});

// Extensions (issue 12 item 4), made for real: the source runs from a copy of the PostgreSQL 15
// installation (bin, lib and share; PostgreSQL finds its share directory relative to its binaries)
// whose share/extension directory has two small SQL-only extensions that Debian's installation, the
// one the sandbox and the restore target use by default, does not have.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/index.ts';
import { startEmbeddedSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill } from './drill-helpers.ts';

let tree: string;
let binDir: string;
let source: Sandbox;
let target: Sandbox;
let env: Record<string, string>;
let manifest: BackupManifest;

async function query(sandbox: Sandbox, database: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: sandbox.connectionUri(database) });
  await client.connect();
  return client.query(sql).finally(() => client.end());
}

beforeAll(async () => {
  // Outside the tests' private temp root: the embedded server runs as the postgres user when the tests run as root.
  tree = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-pgtree-'));
  await chmod(tree, 0o755);
  for (const dir of ['usr/lib/postgresql', 'usr/share/postgresql']) {
    await mkdir(path.join(tree, dir), { recursive: true });
    await execa('cp', ['-a', `/${dir}/15`, path.join(tree, dir)]);
  }
  binDir = path.join(tree, 'usr/lib/postgresql/15/bin');
  const extensions = path.join(tree, 'usr/share/postgresql/15/extension');
  await writeFile(path.join(extensions, 'pgdrill_probe.control'), "comment = 'pgdrill test extension'\ndefault_version = '1.0'\nrelocatable = true\n");
  await writeFile(path.join(extensions, 'pgdrill_probe--1.0.sql'), "CREATE FUNCTION pgdrill_probe() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 42';\n");
  await writeFile(path.join(extensions, 'pgdrill_versioned.control'), "default_version = '1.0'\nrelocatable = true\n");
  await writeFile(path.join(extensions, 'pgdrill_versioned--1.0.sql'), "CREATE FUNCTION pgdrill_versioned() RETURNS text LANGUAGE sql AS 'SELECT ''1.0''';\n");

  source = await startEmbeddedSandbox({ major: 15, binDir, database: 'shop' });
  await query(
    source,
    'shop',
    `CREATE EXTENSION pgdrill_probe;
     CREATE EXTENSION pgdrill_versioned;
     CREATE TABLE public.items (id int PRIMARY KEY, code int DEFAULT pgdrill_probe());
     INSERT INTO public.items (id) SELECT g FROM generate_series(1, 100) g;`,
  );
  env = { PGDRILL_STORAGE: tempDir('store'), PGDRILL_ENCRYPTION_KEYS: newKeyring('k1'), PGDRILL_SANDBOX: 'embedded' };
  const backup = await runCli(['backup', '--json'], { ...env, DATABASE_URL: source.connectionUri('shop') });
  expect(backup.exitCode, String(backup.stderr)).toBe(0);
  manifest = JSON.parse(String(backup.stdout)) as BackupManifest;
  // After the backup the installation moves on: pgdrill_versioned now installs 1.1 by default.
  await writeFile(path.join(extensions, 'pgdrill_versioned.control'), "default_version = '1.1'\nrelocatable = true\n");
  await writeFile(path.join(extensions, 'pgdrill_versioned--1.1.sql'), "CREATE FUNCTION pgdrill_versioned() RETURNS text LANGUAGE sql AS 'SELECT ''1.1''';\n");

  target = await startEmbeddedSandbox({ major: 15, database: 'restored' });
}, 240_000);
afterAll(async () => {
  await source?.stop();
  await target?.stop();
  if (tree) await rm(tree, { recursive: true, force: true });
});

describe('extensions', () => {
  it('the manifest records the source extensions with version and schema', () => {
    expect(manifest.extensions).toEqual([
      { name: 'pgdrill_probe', version: '1.0', schema: 'public' },
      { name: 'pgdrill_versioned', version: '1.0', schema: 'public' },
      { name: 'plpgsql', version: '1.0', schema: 'pg_catalog' },
    ]);
  });

  it('a sandbox without one fails fast before restoring, naming it and how to give the sandbox binaries that have it (exit 1)', async () => {
    const run = await drill(env);
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.check('extensions')).toMatchObject({ status: 'fail', summary: 'missing in the sandbox: pgdrill_probe 1.0 (schema public), pgdrill_versioned 1.0 (schema public)' });
    const restore = run.check('restore')!;
    expect(restore.status).toBe('fail');
    expect(restore.summary).toMatch(/^sandbox failed: The embedded sandbox \(PostgreSQL 15\.\d+.*?\) does not offer extension\(s\) backup \S+ needs: pgdrill_probe 1\.0 \(schema public\), pgdrill_versioned 1\.0 \(schema public\); pg_restore would fail on CREATE EXTENSION, so nothing was restored/);
    expect(restore.summary).toContain('or set sandbox.binDir (PGDRILL_PG_BINDIR) to an installation that has them');
    expect(restore.summary).toContain('sandbox.image / PGDRILL_SANDBOX_IMAGE');
    // Nothing was restored: pg_restore never ran.
    expect(run.evidence!.timeline.map((t) => t.step)).not.toContain('restored');
  });

  it('given binaries that have them, the drill restores and passes, warning that one installs another version', async () => {
    const run = await drill({ ...env, PGDRILL_PG_BINDIR: binDir });
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.check('restore')?.status).toBe('pass');
    expect(run.check('extensions')).toMatchObject({
      status: 'warn',
      summary: '3 extension(s) available in the sandbox (pgdrill_probe, pgdrill_versioned, plpgsql); other version: pgdrill_versioned 1.0 in the backup, 1.1 in the sandbox',
    });
  });

  it('`pgdrill restore` into a server without them refuses before downloading (exit 3) and changes nothing; --dry-run shows it in the plan', async () => {
    const url = new URL(target.connectionUri('restored'));
    const password = decodeURIComponent(url.password);
    url.password = '';
    const restoreEnv = { ...env, PGPASSWORD: password };
    const dry = await runCli(['restore', '--latest', '--target-db', url.toString(), '--dry-run'], restoreEnv);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(String(dry.stdout)).toContain('  extensions MISSING on the target: pgdrill_probe 1.0 (schema public), pgdrill_versioned 1.0 (schema public)');

    const real = await runCli(['restore', '--latest', '--target-db', url.toString()], restoreEnv);
    expect(real.exitCode, String(real.stderr)).toBe(3);
    expect(String(real.stderr)).toMatch(
      /does not offer extension\(s\) backup \S+ needs: pgdrill_probe 1\.0 \(schema public\), pgdrill_versioned 1\.0 \(schema public\)\. Nothing was changed\. Install pgdrill_probe, pgdrill_versioned on the target's server/,
    );
    expect(String(real.stdout)).not.toContain('downloading');
    const tables = await query(target, 'restored', `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`);
    expect(tables.rows[0].n).toBe(0);
  });
});

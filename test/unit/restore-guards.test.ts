// The restore's pure decisions (issue 10 item 9): the guards that demand --confirm, the roles a
// restore needs, the plan's parsing of flags and its printed lines, and the role globals filter.
import { describe, expect, it } from 'vitest';
import type { BackupManifest, CatalogEntry } from '../../src/catalog/index.ts';
import { ConfigError, ExitCode } from '../../src/errors/index.ts';
import type { TableRef } from '../../src/inspect/index.ts';
import { parseDatabaseUrl } from '../../src/pgtools/index.ts';
import { testManifest } from '../helpers/manifest.ts';
import type { ArchiveListing } from '../../src/restore/archive.ts';
import { filterGlobals } from '../../src/restore/globals.ts';
import { restoreGuards, rolesReferenced, sameDatabase, type GuardInput, type TargetState } from '../../src/restore/guards.ts';
import {
  describePlan,
  manifestForSelection,
  needsSkeleton,
  parseBackupChoice,
  parseIsoDay,
  parseJobs,
  parseTables,
  type RestorePlan,
} from '../../src/restore/plan.ts';

/** A manifest that validates: app_db from db.internal:5432, three tables, two roles with grants and one without. */
function manifest(overrides: Partial<BackupManifest> = {}): BackupManifest {
  return testManifest({
    scope: 'full',
    tables: [
      { schema: 'public', name: 'users', rows: 42 },
      { schema: 'public', name: 'users_archive', rows: 7 },
      { schema: 'Sales Dept', name: 'order lines', rows: 1_000 },
    ],
    roles: [
      { name: 'report_reader', login: true, memberOf: [], privileges: ['public.users:SELECT'] },
      { name: 'archiver', login: false, memberOf: [], privileges: ['public.users_archive:SELECT', 'public.users_archive:INSERT'] },
      { name: 'sales', login: true, memberOf: [], privileges: ['Sales Dept.order lines:SELECT'] },
      { name: 'idle', login: false, memberOf: [], privileges: [] },
    ],
    largeObjects: 3,
    ...overrides,
  });
}

/** The ConfigError `fn` throws (exit 3), for its message. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(ExitCode.config);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const users: TableRef = { schema: 'public', name: 'users' };
const target = (url: string) => parseDatabaseUrl(url, '--target-db');

describe('sameDatabase', () => {
  const at = (host: string, port = 5432, database = 'app_db') => ({ host, port, database });

  it('treats every loopback spelling as one host, and host names case-insensitively', () => {
    for (const a of ['localhost', 'LOCALHOST', '127.0.0.1', '::1', '[::1]']) {
      for (const b of ['localhost', '127.0.0.1', '::1', '[::1]']) expect(sameDatabase(at(a), at(b)), `${a} vs ${b}`).toBe(true);
    }
    expect(sameDatabase(at('DB.Internal'), at('db.internal'))).toBe(true);
    // The bracketed IPv6 form is what a postgres:// URL gives.
    expect(sameDatabase(target('postgres://u@[::1]:5432/app_db'), at('127.0.0.1'))).toBe(true);
  });

  it('differs on another host, port or database name (database names are case-sensitive)', () => {
    expect(sameDatabase(at('db.internal'), at('localhost'))).toBe(false);
    expect(sameDatabase(at('127.0.0.2'), at('127.0.0.1'))).toBe(false);
    expect(sameDatabase(at('localhost', 5432), at('localhost', 5433))).toBe(false);
    expect(sameDatabase(at('localhost', 5432, 'app_db'), at('localhost', 5432, 'app_db_copy'))).toBe(false);
    expect(sameDatabase(at('localhost', 5432, 'App_db'), at('localhost', 5432, 'app_db'))).toBe(false);
  });
});

describe('restoreGuards', () => {
  const input = (over: Partial<GuardInput> = {}): GuardInput => ({
    target: target('postgres://restorer@scratch.internal:5432/app_copy'),
    targetState: { userTables: [] },
    manifest: manifest(),
    productionPatterns: ['prod'],
    ...over,
  });

  it('finds nothing for an empty, unrelated target', () => {
    expect(restoreGuards(input())).toEqual([]);
    expect(restoreGuards(input({ sourceUrl: 'postgres://backup:pw@db.internal:5432/app_db' }))).toEqual([]);
  });

  it('names a non-empty target with up to three of its tables', () => {
    expect(restoreGuards(input({ targetState: { userTables: [users] } }))).toEqual([
      { guard: 'not-empty', reason: 'the target database is not empty: 1 user table (public.users)' },
    ]);
    const tables = ['a', 'b', 'c', 'd'].map((name) => ({ schema: 'public', name }));
    expect(restoreGuards(input({ targetState: { userTables: tables } }))[0]?.reason).toBe('the target database is not empty: 4 user tables (public.a, public.b, public.c, …)');
  });

  it('refuses the configured source (DATABASE_URL) under any loopback spelling, without its password', () => {
    const findings = restoreGuards(
      input({ target: target('postgres://restorer@127.0.0.1:5432/app_db'), sourceUrl: 'postgres://backup:Pa55-word@localhost:5432/app_db' }),
    );
    expect(findings).toEqual([{ guard: 'source', reason: 'the target is the configured backup source (DATABASE_URL localhost:5432/app_db)' }]);
    expect(JSON.stringify(findings)).not.toContain('Pa55-word');
  });

  it("refuses the backup's own source database once, even when DATABASE_URL is unset or unreadable", () => {
    const expected = [{ guard: 'source', reason: 'the target is the database this backup was taken from (db.internal:5432/app_db)' }];
    const into = target('postgres://restorer@DB.internal:5432/app_db');
    expect(restoreGuards(input({ target: into }))).toEqual(expected);
    expect(restoreGuards(input({ target: into, sourceUrl: 'not a url' }))).toEqual(expected);
    // Both the configured source and the manifest's: one finding.
    expect(restoreGuards(input({ target: into, sourceUrl: 'postgres://backup@db.internal:5432/app_db' })).map((f) => f.guard)).toEqual(['source']);
  });

  it('matches production patterns in host or database name, case-insensitively; blank patterns match nothing', () => {
    const prodHost = restoreGuards(input({ target: target('postgres://restorer@DB-PROD-1.internal:5432/app_copy'), productionPatterns: ['prod', '  ', 'live'] }));
    expect(prodHost).toEqual([{ guard: 'production', reason: 'the target matches the production pattern "prod" (productionPatterns)' }]);
    const both = restoreGuards(input({ target: target('postgres://restorer@scratch.internal:5432/live_prod'), productionPatterns: ['Prod', 'live'] }));
    expect(both.map((f) => f.reason)).toEqual([
      'the target matches the production pattern "Prod" (productionPatterns)',
      'the target matches the production pattern "live" (productionPatterns)',
    ]);
    expect(restoreGuards(input({ productionPatterns: ['', ' '] }))).toEqual([]);
  });

  it('reports every guard that applies, in order', () => {
    const findings = restoreGuards(input({ target: target('postgres://restorer@db.internal:5432/app_db'), targetState: { userTables: [users] }, productionPatterns: ['internal'] }));
    expect(findings.map((f) => f.guard)).toEqual(['not-empty', 'source', 'production']);
  });
});

describe('rolesReferenced', () => {
  const listing: ArchiveListing = { entries: [], tableDefinitions: 3, tableData: 3, owners: new Set(['app_owner', 'pgdrill']) };

  it("needs the entries' owners and every grantee of the backup's tables for a whole restore", () => {
    expect(rolesReferenced({ manifest: manifest(), listing })).toEqual(new Set(['app_owner', 'pgdrill', 'report_reader', 'archiver', 'sales']));
  });

  it('needs no owners with --no-owner, and nothing at all for a data-only restore', () => {
    expect(rolesReferenced({ manifest: manifest(), listing, noOwner: true })).toEqual(new Set(['report_reader', 'archiver', 'sales']));
    expect(rolesReferenced({ manifest: manifest(), listing, dataOnly: true })).toEqual(new Set());
    expect(rolesReferenced({ manifest: manifest(), listing, dataOnly: true, noOwner: false })).toEqual(new Set());
  });

  it("needs only the grantees of the restored tables' privileges (public.users is not public.users_archive)", () => {
    expect(rolesReferenced({ manifest: manifest(), listing, tables: [users], noOwner: true })).toEqual(new Set(['report_reader']));
    expect(rolesReferenced({ manifest: manifest(), listing, tables: [{ schema: 'Sales Dept', name: 'order lines' }] })).toEqual(new Set(['app_owner', 'pgdrill', 'sales']));
    expect(rolesReferenced({ manifest: manifest(), listing, tables: [{ schema: 'public', name: 'user' }], noOwner: true })).toEqual(new Set());
  });
});

describe('needsSkeleton', () => {
  const empty: TargetState = { userTables: [], roles: new Set(), serverVersion: '15.8', extensions: [] };

  it('builds the skeleton only for named tables restored with schema into an inspected empty database', () => {
    expect(needsSkeleton([users], { dataOnly: false }, empty)).toBe(true);
    expect(needsSkeleton([users], {}, empty)).toBe(true);
    expect(needsSkeleton(undefined, { dataOnly: false }, empty)).toBe(false);
    expect(needsSkeleton([users], { dataOnly: true }, empty)).toBe(false);
    expect(needsSkeleton([users], { dataOnly: false }, { ...empty, userTables: [users] })).toBe(false);
    expect(needsSkeleton([users], { dataOnly: false }, undefined)).toBe(false);
  });
});

describe('manifestForSelection', () => {
  it('keeps everything, large objects included, for a whole-database restore', () => {
    const m = manifest();
    expect(manifestForSelection(m, {})).toEqual(m);
    const older = manifest({ largeObjects: undefined });
    expect(manifestForSelection(older, {})).not.toHaveProperty('largeObjects');
  });

  it('keeps only the named tables, and drops large objects', () => {
    const part = manifestForSelection(manifest(), { tables: [users, { schema: 'Sales Dept', name: 'order lines' }] });
    expect(part.tables).toEqual([
      { schema: 'public', name: 'users', rows: 42 },
      { schema: 'Sales Dept', name: 'order lines', rows: 1_000 },
    ]);
    expect(part).not.toHaveProperty('largeObjects');
    expect(part.roles).toEqual(manifest().roles);
  });

  it('tells "a.b"."c" from "a"."b.c"', () => {
    const m = manifest({ tables: [{ schema: 'a.b', name: 'c', rows: 1 }, { schema: 'a', name: 'b.c', rows: 2 }] });
    expect(manifestForSelection(m, { tables: [{ schema: 'a', name: 'b.c' }] }).tables).toEqual([{ schema: 'a', name: 'b.c', rows: 2 }]);
  });

  it('expects no rows and no large objects from a schema-only restore', () => {
    const schema = manifestForSelection(manifest(), { schemaOnly: true });
    expect(schema.tables.map((t) => t.rows)).toEqual([0, 0, 0]);
    expect(schema).not.toHaveProperty('largeObjects');
    expect(manifestForSelection(manifest(), { tables: [users], schemaOnly: true }).tables).toEqual([{ schema: 'public', name: 'users', rows: 0 }]);
  });
});

describe('parseIsoDay', () => {
  it('accepts real calendar days, leap days included', () => {
    for (const day of ['2026-11-23', '2028-02-29', '2000-02-29', '2026-12-31']) expect(parseIsoDay(day, '--date')).toBe(day);
  });

  it('rejects impossible days and other spellings, naming the flag and the format', () => {
    for (const day of ['2026-13-45', '2026-02-30', '2026-02-29', '1900-02-29', '2026-04-31', '2026-00-10', '2026-2-3', '2026-02-03T00:00:00Z', '23/11/2026', '']) {
      expect(configError(() => parseIsoDay(day, '--date')).message).toBe(`--date ${JSON.stringify(day)} is not a date. Use --date YYYY-MM-DD, e.g. --date 2026-11-23 (UTC day)`);
    }
    expect(configError(() => parseIsoDay('2026-02-30', '--since')).message).toMatch(/^--since "2026-02-30" is not a date\. Use --since YYYY-MM-DD/);
  });
});

describe('parseBackupChoice', () => {
  it('takes exactly one choice', () => {
    expect(parseBackupChoice({ latest: true })).toEqual({});
    expect(parseBackupChoice({ date: '2028-02-29' })).toEqual({ date: '2028-02-29' });
    expect(parseBackupChoice({ monthly: '2026-02' })).toEqual({ monthly: '2026-02' });
    expect(parseBackupChoice({ key: '  2026-11-23-app_db  ' })).toEqual({ key: '2026-11-23-app_db' });
    expect(parseBackupChoice({ latest: false, key: 'x' })).toEqual({ key: 'x' });
  });

  it('says when no backup or more than one was chosen', () => {
    expect(configError(() => parseBackupChoice({})).message).toBe(
      'No backup chosen. Pass one of --latest, --date YYYY-MM-DD, --monthly YYYY-MM or --key KEY (see `pgdrill restore --list`)',
    );
    expect(configError(() => parseBackupChoice({ latest: true, date: '2026-11-23', key: 'x' })).message).toBe(
      'Choose one backup: --latest and --date and --key were given together. Pass only one of them',
    );
    // An empty value still counts as given.
    expect(configError(() => parseBackupChoice({ monthly: '', key: '' })).message).toMatch(/^Choose one backup: --monthly and --key/);
  });

  it('validates the chosen value', () => {
    expect(configError(() => parseBackupChoice({ date: '2026-02-30' })).message).toMatch(/^--date "2026-02-30" is not a date\./);
    for (const month of ['2026-13', '2026-00', '2026-2', '2026-02-01', '']) {
      expect(configError(() => parseBackupChoice({ monthly: month })).message).toBe(`--monthly ${JSON.stringify(month)} is not a month. Use --monthly YYYY-MM, e.g. --monthly 2026-02`);
    }
    expect(configError(() => parseBackupChoice({ key: '   ' })).message).toBe('--key is empty. Pass a backup id, manifest key or object key from `pgdrill restore --list`');
  });
});

describe('parseTables', () => {
  it('reads schema.table with psql quoting, default schema public, duplicates removed', () => {
    expect(parseTables(undefined)).toBeUndefined();
    expect(parseTables([])).toBeUndefined();
    expect(parseTables(['users', 'public.users', 'PUBLIC.Users', '"Sales Dept"."order lines"', '"Mixed"'])).toEqual([
      users,
      { schema: 'Sales Dept', name: 'order lines' },
      { schema: 'public', name: 'Mixed' },
    ]);
  });

  it('rejects a name without schema or table', () => {
    for (const name of ['.users', 'public.', '']) {
      expect(configError(() => parseTables([name])).message).toBe(`--tables: ${JSON.stringify(name)} is not a table name. Use schema.table, e.g. --tables public.users,registry.attachments`);
    }
  });
});

describe('parseJobs', () => {
  it('takes 1 to 64, else the fallback when not given', () => {
    expect(parseJobs(undefined, 2)).toBe(2);
    expect(parseJobs('1', 2)).toBe(1);
    expect(parseJobs('64', 2)).toBe(64);
  });

  it('rejects anything else', () => {
    for (const value of ['0', '65', '1.5', '-1', 'four', '']) {
      expect(configError(() => parseJobs(value, 2)).message).toBe(`--jobs ${JSON.stringify(value)} is not a number from 1 to 64. e.g. --jobs 4 (parallel pg_restore workers)`);
    }
  });
});

describe('describePlan', () => {
  const now = new Date('2026-11-25T03:30:00.000Z');
  const bytes = (n: number) => `${n} B`;
  const entry = (m: BackupManifest): CatalogEntry => ({ manifest: m, manifestKey: `backups/manifests/${m.tier}/${m.id}.json` });
  const PASSWORD = 'S3cret-target-pw';
  const plan = (over: Partial<RestorePlan> = {}): RestorePlan => ({
    entry: entry(manifest()),
    target: target(`postgres://restorer:${PASSWORD}@scratch.internal:5433/app_copy?sslmode=require&password=${PASSWORD}`),
    targetState: { userTables: [], roles: new Set(['restorer']), serverVersion: '16.4', extensions: [] },
    selection: { withGlobals: false, jobs: 4 },
    skeleton: false,
    ...over,
  });

  it('prints the whole plan, and never the target password', () => {
    const lines = describePlan(plan(), now, { bytes });
    expect(lines).toEqual([
      'Restore plan',
      '  backup     daily 2026-11-23-app_db  [backups/manifests/daily/2026-11-23-app_db.json]',
      '  source     app_db on db.internal:5432, PostgreSQL 15.8, custom format, pg_dump 15.8',
      '  taken at   2026-11-23T01:00:00.000Z (2 days ago)',
      '  size       2048 B stored, 8192 B plaintext, zstd, encrypted with key k2026',
      '  contents   3 tables, 1,049 rows',
      '  target     scratch.internal:5433/app_copy as restorer (PostgreSQL 16.4, 0 user tables)',
      '  restore    whole database, schema and data',
      '  ownership  as in the backup',
      '  roles      not applied (pass --with-roles on a new cluster)',
      '  jobs       4',
    ]);
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('says whether the target offers the extensions the restore creates', () => {
    const required = [
      { name: 'pgcrypto', version: '1.3', schema: 'public' },
      { name: 'postgis', version: '3.4.2', schema: 'public' },
    ];
    const missing = { required, missing: [required[1]!], versionDifferences: [] };
    expect(describePlan(plan({ extensions: missing }), now, { bytes }).at(-1)).toBe('  extensions MISSING on the target: postgis 3.4.2 (schema public)');
    const offered = { required, missing: [], versionDifferences: [{ name: 'pgcrypto', source: '1.3', target: '1.4' }] };
    expect(describePlan(plan({ extensions: offered }), now, { bytes }).at(-1)).toBe(
      '  extensions 2 needed, all available on the target (pgcrypto, postgis); pgcrypto 1.3 in the backup, 1.4 on the target',
    );
  });

  it('marks a partial backup by its series, and a promoted copy by its origin', () => {
    const partial = manifest({ scope: 'partial', options: { schemaOnly: true, tables: ['public.users'], excludeTables: [] } });
    expect(describePlan(plan({ entry: entry(partial) }), now, { bytes })[1]).toBe(
      '  backup     daily 2026-11-23-app_db (partial: schema-only; tables public.users)  [backups/manifests/daily/2026-11-23-app_db.json]',
    );
    const copy = manifest({ tier: 'monthly', id: '2026-11-app_db', promotedFrom: '2026-11-01-app_db' });
    expect(describePlan(plan({ entry: entry(copy) }), now, { bytes })[1]).toBe('  backup     monthly 2026-11-app_db (copy of 2026-11-01-app_db)  [backups/manifests/monthly/2026-11-app_db.json]');
  });

  it('describes a table restore, with or without the skeleton, and the selection flags', () => {
    const tables = describePlan(plan({ tables: [users], selection: { tables: ['public.users'], noOwner: true, withGlobals: true, jobs: 1 } }), now, { bytes });
    expect(tables).toContain('  contents   3 tables, 1,049 rows; restoring 1 of them');
    expect(tables).toContain('  restore    tables public.users, schema and data (pg_restore --table: no indexes, constraints or triggers)');
    expect(tables).toContain('  ownership  not restored (--no-owner): objects belong to the connecting user');
    expect(tables).toContain('  roles      none captured in this backup');
    const skeleton = describePlan(plan({ tables: [users], skeleton: true }), now, { bytes });
    expect(skeleton).toContain(
      "  restore    tables public.users: the backup's schema skeleton first (every table empty, no indexes or constraints), then these tables' rows",
    );
    const dataOnly = describePlan(plan({ selection: { dataOnly: true, withGlobals: false, jobs: 1 } }), now, { bytes });
    expect(dataOnly).toContain('  restore    whole database, data only');
  });

  it('says what it could not check: no target, an unencrypted backup, globals without passwords', () => {
    const withGlobals = manifest({
      encryption: { algorithm: 'none' },
      objects: { ...manifest().objects, globals: { ...manifest().objects.dump, key: 'backups/daily/2026-11-23-app_db.globals.sql.zst.enc' } },
    });
    const lines = describePlan(plan({ entry: entry(withGlobals), target: undefined, targetState: undefined, selection: { withGlobals: true, jobs: 1 } }), now, { bytes });
    expect(lines).toContain('  target     none given (pass --target-db to check the guards too)');
    expect(lines).toContain('  size       2048 B stored, 8192 B plaintext, zstd, NOT encrypted');
    expect(lines).toContain('  roles      captured roles created where missing (--with-roles); existing roles are left alone; NO passwords captured: set them with ALTER ROLE … PASSWORD afterwards');
  });
});

// `pg_dumpall --roles-only` of a PostgreSQL 15.18 sandbox (src/sandbox) with the roles app_owner,
// "Mixed Case" and "report ""reader""" (LOGIN, a search_path setting, member of app_owner);
// captured once, the SCRAM verifiers replaced by placeholders.
const GLOBALS = `--
-- PostgreSQL database cluster dump
--

\\restrict kX5cUZUrdWm2mANye7AaHc4GqnkcMqB5gtZTba96brOlCymI1om1QrOQPbgmDz8

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE "Mixed Case";
ALTER ROLE "Mixed Case" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE pgdrill;
ALTER ROLE pgdrill WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';
CREATE ROLE "report ""reader""";
ALTER ROLE "report ""reader""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';

--
-- User Configurations
--

--
-- User Config "report "reader""
--

ALTER ROLE "report ""reader""" SET search_path TO 'public';


--
-- Role memberships
--

GRANT app_owner TO "report ""reader""" GRANTED BY pgdrill;




\\unrestrict kX5cUZUrdWm2mANye7AaHc4GqnkcMqB5gtZTba96brOlCymI1om1QrOQPbgmDz8

--
-- PostgreSQL database cluster dump complete
--
`;

describe('filterGlobals', () => {
  const roleLines = (sql: string) => sql.split('\n').filter((line) => /^(CREATE|ALTER) ROLE /.test(line));

  it('drops every CREATE/ALTER ROLE of a role the target already has, quoted names with "" included', () => {
    const filtered = filterGlobals(GLOBALS, new Set(['pgdrill', 'report "reader"']));
    expect(roleLines(filtered)).toEqual([
      'CREATE ROLE "Mixed Case";',
      'ALTER ROLE "Mixed Case" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;',
      'CREATE ROLE app_owner;',
      'ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;',
    ]);
    // Existing roles keep their passwords; everything else (settings, memberships, trailer) stays.
    expect(filtered).not.toContain('PASSWORD');
    expect(filtered).toContain('GRANT app_owner TO "report ""reader""" GRANTED BY pgdrill;');
    expect(filtered).toContain('\\restrict kX5cUZ');
    expect(filtered.endsWith('-- PostgreSQL database cluster dump complete\n--\n')).toBe(true);
  });

  it('matches role names exactly: case, quotes and prefixes count', () => {
    expect(filterGlobals(GLOBALS, new Set())).toBe(GLOBALS);
    expect(filterGlobals(GLOBALS, new Set(['mixed case', 'report', 'report ""reader""', 'app']))).toBe(GLOBALS);
    expect(roleLines(filterGlobals(GLOBALS, new Set(['Mixed Case'])))).not.toContainEqual(expect.stringContaining('"Mixed Case"'));
  });

  it('unquotes a name made only of an escaped quote', () => {
    const sql = 'CREATE ROLE """";\nALTER ROLE """" WITH LOGIN;\nCREATE ROLE "a""b";';
    expect(filterGlobals(sql, new Set(['"']))).toBe('CREATE ROLE "a""b";');
    expect(filterGlobals(sql, new Set(['a"b']))).toBe('CREATE ROLE """";\nALTER ROLE """" WITH LOGIN;');
  });
});
